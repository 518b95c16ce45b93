"""Redact what a user typed before it reaches a log: phone numbers, email addresses, password-like strings."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
# "password is hunter2", "pwd: x", "passcode = y": the word after the keyword is the secret
_SECRET_AFTER_KEYWORD = re.compile(
    r"(?i)\b(pass(?:word|wd|code|phrase)?|pwd|pin|pw)\b(\s*(?:is|was|:|=|-)?\s*)(\S+)"
)
# a single token mixing letters with digits or symbols, as generated passwords do
_PASSWORD_LIKE = re.compile(r"(?<!\S)(?=\S*[A-Za-z])(?=\S*[\d!£$%^&*#?])[^\s]{6,}(?!\S)")
MAX_LOGGED_CHARS = 200


def redact(text: str) -> str:
    """Return `text` fit for a log line: secrets masked, shortened, on one line."""
    text = _EMAIL.sub("[email]", text)
    text = _SECRET_AFTER_KEYWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)
    text = _PHONE.sub("[phone]", text)
    text = _PASSWORD_LIKE.sub("[secret]", text)
    text = " ".join(text.split())
    if len(text) > MAX_LOGGED_CHARS:
        text = text[:MAX_LOGGED_CHARS] + "…"
    return text
