"""Secrets planted in messages, and everything a log record could write, for the no-secret-anywhere tests."""

from __future__ import annotations

import logging

from adapters import logs

SECRETS = ("Mary Jones", "12/03/1945", "422 395 6647", "LS6 2QB", "Sunflower-Otter-93", "purple monkey")
MESSAGES = (
    "resident Mary Jones, DOB 12/03/1945, NHS 422 395 6647, lives at LS6 2QB; my password is "
    "Sunflower-Otter-93, can you move her room",
    "resident Mary Jones cannot open the discharge letter attachment, the password for the shared mailbox "
    "is purple monkey dishwasher",
)


def everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record as both formats write it (message, fields, traceback), and its raw parts too."""
    formatter = logs.JsonFormatter()
    return "\n".join(
        f"{record.getMessage()}\n{record.__dict__!r}\n{formatter.format(record)}" for record in records
    )
