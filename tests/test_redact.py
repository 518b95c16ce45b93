"""Log lines never carry phone numbers, email addresses or anything that looks like a password."""

from __future__ import annotations

import pytest

from bot.redact import MAX_LOGGED_CHARS, redact


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("ring me on 07700 900123 please", "07700 900123"),
        ("my mobile is +44 7700 900123", "7700 900123"),
        ("email jo.bloggs@nhs.net about it", "jo.bloggs@nhs.net"),
        ("my password is Hunter2!! and it fails", "Hunter2!!"),
        ("pwd: correcthorse", "correcthorse"),
        ("tried Summer2024! three times", "Summer2024!"),
    ],
)
def test_secrets_are_masked(message: str, secret: str) -> None:
    assert secret not in redact(message)


def test_ordinary_words_survive() -> None:
    assert redact("I've forgotten my NHSmail password") == "I've forgotten my NHSmail password"


def test_long_messages_are_cut_and_kept_on_one_line() -> None:
    logged = redact("locked out\n" * 500)
    assert "\n" not in logged
    assert len(logged) <= MAX_LOGGED_CHARS + 1
