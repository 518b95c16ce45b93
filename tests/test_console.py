"""The console's rendering: what a person reads in a terminal, in the order they read it."""

from __future__ import annotations

import io
from dataclasses import replace

from adapters.console import chat, to_text
from bot.engine import Engine

SOURCE = "From the NHSmail FAQ for care providers · checked 23 Nov 2026"


def test_an_answer_ends_with_its_source_before_the_related_questions(engine: Engine) -> None:
    reply = engine.answer_topic("password-not-received")

    lines = to_text(reply).splitlines()

    at = lines.index(SOURCE)
    assert lines[at - 2 : at] == ["  National Administration Service: 0333 200 1133", ""]
    assert lines[at + 1 : at + 3] == ["", "Related:"]


def test_an_answer_without_related_questions_ends_with_its_source(engine: Engine) -> None:
    reply = replace(engine.answer_topic("apply"), follow_ups=())

    assert to_text(reply).endswith("\n\n" + SOURCE)


def test_only_answers_name_a_source(engine: Engine) -> None:
    for message in ("email", "how do I set an out of office", "hello", "help"):
        assert "checked" not in to_text(engine.reply(message)), message


def test_a_warned_answer_reads_warning_answer_source(engine: Engine) -> None:
    out = io.StringIO()

    chat(engine, io.StringIO("locked out, my password is Sunshine123!\n"), out)

    said = out.getvalue()
    warning = said.index("! Your message seems to contain a password.")
    assert warning < said.index("== I've already set up my account") < said.index(SOURCE)
