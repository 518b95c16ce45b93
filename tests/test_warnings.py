"""A message carrying a password or a resident's details is still answered, and the sender is warned."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.console import chat, to_text
from bot.engine import Engine
from bot.knowledge import WARNING_NOTICES
from bot.models import ReplyKind
from bot.privacy import KINDS, find, notices, warnings_for

ROOT = Path(__file__).resolve().parents[1]


def ask(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "ask", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("message", "warnings"),
    [
        ("I'm locked out, my password is Xk9#mQ2p", ("password",)),
        ("I've forgotten my password, it was Summer2024!", ("password",)),
        ("resident John Smith wants his own nhsmail account", ("person",)),
        ("can a resident with DOB 12/03/1945 have nhsmail", ("date_of_birth",)),
        ("locked out, NHS number 680 092 0045", ("nhs_number",)),
        ("my mobile 07911 123456 never got the activation text", ()),
        ("I registered with jo.bloggs@nhs.net and no password came", ()),
        ("I've forgotten my password", ()),
        ("Hi there!", ()),
    ],
)
def test_the_reply_carries_the_kinds_to_warn_about(
    engine: Engine, message: str, warnings: tuple[str, ...]
) -> None:
    assert engine.reply(message).warnings == warnings


def test_the_answer_itself_is_unchanged(engine: Engine) -> None:
    plain = engine.reply("I'm locked out of my account and forgot my password")
    warned = engine.reply("I'm locked out of my account and forgot my password, it was Xk9#mQ2p")
    assert plain.kind is warned.kind is ReplyKind.ANSWER
    assert (warned.topic, warned.text, warned.paragraphs) == (plain.topic, plain.text, plain.paragraphs)
    assert plain.warnings == () and warned.warnings == ("password",)


def test_every_kind_has_its_sentence_in_messages_yaml(engine: Engine) -> None:
    texts = engine.kb.messages.warnings
    assert set(texts) == set(WARNING_NOTICES)
    for kind in KINDS:
        (sentence,) = notices((kind,), texts)
        assert sentence in texts.values()
    assert "change that password now" in texts["password"] and "delete" in texts["password"]
    assert "not for resident information" in texts["resident"]


def test_a_shared_channel_warns_about_contact_details_too() -> None:
    message = "my mobile 07911 123456 never got the activation text"
    assert warnings_for(find(message), shared=True) == ("phone",)


def test_ask_json_carries_the_warnings() -> None:
    result = ask("--json", "I'm locked out, my password is Xk9#mQ2p and resident Mary Jones needs hers")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["warnings"] == ["password", "person"]
    assert "Xk9#mQ2p" not in result.stdout


def test_ask_json_warnings_is_an_empty_list_when_there_is_nothing() -> None:
    lines = ["I've forgotten my password", "my mobile 07911 123456 never got the text"]
    result = ask("--json", stdin="\n".join(lines) + "\n")
    assert [json.loads(line)["warnings"] for line in result.stdout.splitlines()] == [[], []]


def test_ask_prints_the_warning_before_the_answer(engine: Engine) -> None:
    result = ask("I've forgotten my password, it was Summer2024!")
    assert result.returncode == 0, result.stderr
    warning = engine.kb.messages.warnings["password"]
    assert result.stdout.startswith(f"! {warning}\n")
    assert result.stdout.index(warning) < result.stdout.index("Unlock Account or Forgotten Password")


def test_the_console_prints_the_warning(engine: Engine) -> None:
    out = io.StringIO()
    chat(
        engine,
        io.StringIO("Mrs Adeyemi in room 4 cannot log in to nhsmail\nI've forgotten my password\n"),
        out,
    )
    resident = engine.kb.messages.warnings["resident"]
    assert out.getvalue().count(resident) == 1  # the first message only


def test_the_reply_carries_the_sentences_to_show_and_the_console_shows_them_first(engine: Engine) -> None:
    reply = engine.reply("my password is Xk9#mQ2p and I'm locked out")
    assert reply.notices == (engine.kb.messages.warnings["password"],)
    assert to_text(reply).startswith(f"! {reply.notices[0]}\n\n")


def test_a_shared_channel_reply_names_contact_details_a_private_one_does_not(engine: Engine) -> None:
    message = "my mobile 07911 123456 never got the activation text"
    assert engine.reply(message).warnings == ()
    shared = engine.reply(message, shared=True)
    assert shared.warnings == ("phone",)
    assert shared.notices == (engine.kb.messages.warnings["contact"],)
