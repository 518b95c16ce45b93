"""The docs say what the code does: the command table against --help, the settings tables against what the
bot reads, every documented command line against the real parser, and the claims that can be run."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping

import pytest
from config_tools import ROOT, free_port, run_cli

from adapters.cli import _configure_logging, _parser
from adapters.settings import Settings
from bot.engine import MAX_CHOICES, Engine
from bot.models import ReplyKind

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs").glob("*.md"))}
# the Bot Framework's own names, and ours: upper case with an underscore
ENV_NAME = re.compile(r"`((?:Microsoft|ToChannel|ToBot)\w+|[A-Z][A-Z0-9]*_[A-Z0-9_]+)`")
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


class Recording(Mapping[str, str]):
    """An empty environment that remembers every name asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def variables_read() -> set[str]:
    """Every environment variable the bot reads: the settings, and the logging set up before any command."""
    environ = Recording()
    Settings.read(environ)
    _configure_logging(environ)
    return environ.asked


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end > 0 else None]


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| ---")]


def _subcommands() -> set[str]:
    listed = re.search(r"\{([a-z,-]+)\}", run_cli("--help").stdout)
    assert listed, "no subcommand list in --help"
    return set(listed.group(1).split(","))


def test_the_command_table_lists_every_subcommand_and_no_other() -> None:
    rows = _table_rows(_section(README, "## The command"))
    documented = {re.match(r"\| `nhsmail-bot ([a-z-]+)", row).group(1) for row in rows[1:]}  # type: ignore[union-attr]
    assert documented == _subcommands()


def test_every_option_in_the_command_table_is_in_that_command_s_help() -> None:
    for row in _table_rows(_section(README, "## The command"))[1:]:
        command = row.split("`")[1]
        subcommand = command.split()[1]
        helped = (
            run_cli(subcommand, "--help").stdout if subcommand != "kb" else run_cli("kb", "--help").stdout
        )
        for option in re.findall(r"--[a-z-]+", command):
            assert option in helped, (subcommand, option)


def test_the_environment_table_is_what_the_bot_reads() -> None:
    table = _section(README, "## In Teams and Slack")
    documented = {name for row in _table_rows(table) for name in ENV_NAME.findall(row.split(" | ")[0])}
    assert documented == variables_read()


@pytest.mark.parametrize("name", ["README.md", *DOCS])
def test_every_variable_the_docs_name_is_read(name: str) -> None:
    text = README if name == "README.md" else DOCS[name]
    named = set(ENV_NAME.findall(text))
    assert named <= variables_read(), named - variables_read()


def _command_lines(text: str) -> Iterator[str]:
    """Every `nhsmail-bot …` in inline code or a shell block, as it would be typed."""
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("nhsmail-bot "):
                yield line
    yield from re.findall(r"`(nhsmail-bot [^`]+)`", text)


@pytest.mark.parametrize("name", ["README.md", *DOCS])
def test_every_documented_command_line_parses(name: str) -> None:
    text = README if name == "README.md" else DOCS[name]
    lines = list(_command_lines(text))
    assert lines or name not in ("README.md", "slack.md", "teams.md")
    for line in lines:
        # [--option VALUE] is optional syntax; A | B offers either
        words = shlex.split(line.replace("[", "").replace("]", "").replace("...", "x").replace("…", "x"))
        try:
            _parser().parse_args(words[1:])
        except SystemExit as error:
            raise AssertionError(f"{name}: {line!r} does not parse") from error


def test_slack_set_up_fills_the_host_with_slack_manifest_not_by_hand() -> None:
    slack = DOCS["slack.md"]
    assert "nhsmail-bot slack-manifest --host" in slack
    assert "nhsmail-bot slack-manifest --socket-mode" in slack
    assert not re.search(r"replace `?HOST`?", slack, flags=re.I)
    assert not re.search(r"replace `?HOST`?|host name in its \w+ URLs", README, flags=re.I)


def test_the_did_you_mean_button_count_is_the_engine_s(engine: Engine) -> None:
    said = f"two or {NUMBERS[MAX_CHOICES]}"
    assert f"{said} buttons" in " ".join(DOCS["teams.md"].split())
    assert f"{said} choices (never one)" in " ".join(README.split())
    for message in ("password", "shared mailbox", "ods", "mobile", "account"):
        reply = engine.reply(message)
        assert reply.kind is not ReplyKind.CLARIFY or 2 <= len(reply.suggestions) <= MAX_CHOICES


def test_the_small_talk_examples_get_small_talk(engine: Engine) -> None:
    sentence = re.search(r"in any case and with kisses and emoji: (.*?); and a greeting", README, flags=re.S)
    assert sentence
    examples = [e.strip() for part in sentence.group(1).split(";") for e in part.split(",")]
    examples = [e.removeprefix("and ").strip() for e in examples if e.strip()]
    assert len(examples) >= 8
    assert [(e, engine.reply(e).kind) for e in examples] == [(e, ReplyKind.SMALLTALK) for e in examples]
    assert engine.reply("Hello NHSmail Help").kind is ReplyKind.SMALLTALK


def test_no_doc_says_feedback_is_recorded() -> None:
    # where feedback is kept depends on the store; the docs say what the buttons do, not where it ends up
    for text in (README, *DOCS.values()):
        assert not re.search(r"\brecord(ed|s)? (as )?feedback|feedback (is )?recorded", text)


def test_the_doctor_example_in_the_readme_is_what_doctor_prints() -> None:
    example = re.search(
        r"`nhsmail-bot doctor` reads the same settings.*?```text\n(.*?)```", README, flags=re.S
    )
    assert example
    env = {
        "MicrosoftAppId": "0b5d7f9e-1c3a-4e5f-9a7b-2c4d6e8f0a1b",
        "MicrosoftAppPassword": "Q7w~FAKEclientSECRETvalue.abcd",
        "MicrosoftAppType": "SingleTenant",
        "MicrosoftAppTenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "SLACK_BOT_TOKEN": "xoxb-2-1234567890123-FAKEbotTOKENvalueWXYZ",
        "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
        "DATABASE_URL": "postgresql://bot:FAKE-password@db.example.org/nhsmail",
    }
    port = free_port()
    printed = run_cli("doctor", "--port", str(port), env=env).stdout.replace(f":{port} ", ":3978 ")
    assert printed == example.group(1)
