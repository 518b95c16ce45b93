"""The console: a Reply rendered as readable text, and a chat loop that works from a terminal or a pipe."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.engine import Engine
from bot.models import Reply, ReplyKind, Suggestion

PROMPT = "you> "
QUIT_WORDS = frozenset({"quit", "exit", "bye", "goodbye", ":q"})
HINT = "(Type quit, or press Ctrl-D, to leave.)"


def to_json(reply: Reply) -> dict[str, object]:
    """The CLI's JSON contract (see README): other tools rely on these keys."""
    answer = "\n\n".join(reply.paragraphs) if reply.kind is ReplyKind.ANSWER else reply.text
    return {
        "kind": reply.kind.value,
        "matched": reply.matched,
        "topic": reply.topic,
        "title": reply.title,
        "confidence": reply.confidence,
        "answer": answer,
        "steps": list(reply.phone_steps.steps) if reply.phone_steps else [],
        "suggestions": [
            {"topic": s.topic, "title": s.title, "confidence": s.confidence} for s in reply.suggestions
        ],
        "warnings": list(reply.warnings),
    }


def _numbered(items: Iterable[Suggestion], start: int = 1) -> list[str]:
    return [f"  [{n}] {s.title}" for n, s in enumerate(items, start)]


def choices_of(reply: Reply) -> tuple[Suggestion, ...]:
    """What a typed number picks, in the order `to_text` numbers them: the whole topic list only when
    asked for help; a fallback offers examples and says how to get the list."""
    if reply.kind is ReplyKind.CLARIFY:
        return reply.suggestions
    if reply.kind is ReplyKind.SMALLTALK and reply.menu:
        return reply.menu
    return reply.follow_ups


def to_text(reply: Reply) -> str:
    """A Reply as a person reads it in a terminal: first what the message should not have carried, then
    title, answer, links, contacts, where the answer comes from, numbered choices."""
    return "\n\n".join([*(f"! {notice}" for notice in reply.notices), _reply_text(reply)])


def _reply_text(reply: Reply) -> str:
    if reply.kind is ReplyKind.CLARIFY:
        return "\n".join([reply.paragraphs[0], *_numbered(reply.suggestions), "Type a number to choose."])
    if reply.kind is not ReplyKind.ANSWER:
        lines = list(reply.paragraphs)
        choices = choices_of(reply)
        if choices:
            lines += [
                "Topics I can answer:" if choices == reply.menu else "For example:",
                *_numbered(choices),
            ]
            lines.append("Type a number to choose, or ask in your own words.")
        return "\n".join(lines)
    lines = [f"== {reply.title} ==", ""]
    for paragraph in reply.paragraphs:
        lines += [_bullet(line) for line in paragraph.splitlines()]
        lines.append("")
    if reply.links:
        lines += ["Links:", *(f"  {link.label}: {link.url}" for link in reply.links), ""]
    if reply.contacts:
        lines += ["Contacts:", *(f"  {c.label}: {c.value}" for c in reply.contacts), ""]
    if reply.source:
        lines += [reply.source, ""]
    if reply.follow_ups:
        lines += ["Related:", *_numbered(reply.follow_ups), "Type a number to read one."]
    return "\n".join(lines).rstrip()


def _bullet(line: str) -> str:
    return re.sub(r"^- ", "  • ", line)


def chat(engine: Engine, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """A conversation until EOF, "quit" or Ctrl-C. A number picks one of the last numbered choices shown,
    from the first prompt on (the welcome's examples are numbered too); a reply without any, such as
    "Hello!", leaves the list above it in force."""
    interactive = stdin.isatty()
    welcome = engine.welcome()
    stdout.write(to_text(welcome) + "\n" + (HINT + "\n" if interactive else "") + "\n")
    read = _terminal_reader(stdin, stdout) if interactive else stdin.readline
    choices = choices_of(welcome)
    topic: str | None = None  # the last answer's topic: "and what if that doesn't work?" follows it
    try:
        while True:
            line = read()
            if not line:
                if interactive:  # Ctrl-D: end the prompt's line, and say goodbye as for "quit"
                    stdout.write("\n" + engine.kb.messages.goodbye + "\n")
                break
            message = line.strip()
            if message.lower() in QUIT_WORDS:
                stdout.write(engine.kb.messages.goodbye + "\n")
                break
            if not interactive:
                stdout.write(f"{PROMPT}{message}\n")
            if message.isdigit() and 1 <= int(message) <= len(choices):
                reply = engine.answer_topic(choices[int(message) - 1].topic)
            else:
                reply = engine.reply(message, topic)
            topic = reply.topic or topic
            choices = choices_of(reply) or choices
            stdout.write(to_text(reply) + "\n\n")
            stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C is how many people leave a terminal program: not an error
        stdout.write("\n" + engine.kb.messages.goodbye + "\n")
    stdout.flush()


def _terminal_reader(stdin: TextIO, stdout: TextIO) -> Callable[[], str]:
    """Read one line at the prompt: with line editing and history where readline exists, else plainly.
    Returns "" at the end of input (Ctrl-D)."""
    if stdin is sys.stdin and stdout is sys.stdout and _line_editing():

        def edited() -> str:
            try:
                return input(PROMPT) + "\n"
            except EOFError:
                return ""

        return edited

    def plain() -> str:
        stdout.write(PROMPT)
        stdout.flush()
        return stdin.readline()

    return plain


def _line_editing() -> bool:
    """Arrow keys edit the line and recall earlier questions (this session only: what staff type can hold
    personal details, so the history is never written to a file)."""
    try:
        import readline
    except ImportError:  # Windows, or a Python built without it: input() still works, without editing
        return False
    if "libedit" not in (readline.__doc__ or ""):
        readline.parse_and_bind("tab: tab-insert")  # not GNU readline's default, completing file names
    return True


def ask_lines(engine: Engine, stdin: TextIO, stdout: TextIO, as_json: bool) -> None:
    """One reply per input line, in one process: for scripts and evaluation harnesses."""
    for line in stdin:
        reply = engine.reply(line.rstrip("\n"))
        stdout.write(
            (json.dumps(to_json(reply), ensure_ascii=False) if as_json else to_text(reply) + "\n") + "\n"
        )
        stdout.flush()
