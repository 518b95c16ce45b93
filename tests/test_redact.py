"""Redaction, as the store keeps unanswered questions: each finding masked by kind, the rest readable."""

from __future__ import annotations

import pytest

from bot.redact import MAX_REDACTED_CHARS, redact


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my password is Hunter2!! and it fails", "my password is [password] and it fails"),
        (
            "the password for the shared mailbox is correct horse battery staple, why won't it work",
            "the password for the shared mailbox is [password], why won't it work",
        ),
        ("tried Summer2024! three times", "tried [password] three times"),
        ("NHS number 680 092 0045 not on the list", "NHS number [nhs_number] not on the list"),
        (
            "can resident with DOB 12/03/1945 have an account",
            "can resident with DOB [date_of_birth] have an account",
        ),
        ("the home is at LS1 4AP", "the home is at [postcode]"),
        ("ring me on 07911 123456 please", "ring me on [phone] please"),
        ("email jo.bloggs@nhs.net about it", "email [email] about it"),
        ("Mrs Adeyemi in room 4 can't get her emails", "[person] in room 4 can't get her emails"),
        ("resident John Smith needs an account", "resident [person] needs an account"),
    ],
)
def test_each_kind_is_masked_and_the_rest_kept(message: str, expected: str) -> None:
    assert redact(message) == expected


@pytest.mark.parametrize(
    "message",
    ["Hi there!", "I've forgotten my NHSmail password", "is 0333 200 1133 the helpdesk", "we run 4.17.1"],
)
def test_ordinary_text_is_kept_as_typed(message: str) -> None:
    assert redact(message) == message


def test_a_question_with_every_contact_detail_keeps_none_of_them() -> None:
    kept = redact("fallback: my email is jo@nhs.net, mobile 07911 123456 and NHS number 4248792222, help")
    assert kept == "fallback: my email is [email], mobile [phone] and NHS number [nhs_number], help"


def test_control_characters_go_and_the_text_stays_on_one_line() -> None:
    kept = redact("locked\x00 out\n\x1b[31mred\x1b[0m\r\nnow\u202e\ud800 ok")
    assert kept == "locked out [31mred [0m now ok"
    kept.encode("utf-8")  # lone surrogates are gone: any database can store it


def test_long_messages_are_cut() -> None:
    kept = redact("locked out\n" * 500)
    assert "\n" not in kept
    assert len(kept) == MAX_REDACTED_CHARS + 1 and kept.endswith("…")


def test_a_secret_at_the_cut_is_masked_not_half_shown() -> None:
    message = "x " * (MAX_REDACTED_CHARS // 2 - 3) + "my password is Xk9#mQ2p"
    assert "Xk9" not in redact(message)
