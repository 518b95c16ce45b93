"""Logging set up once by the entry point: text or JSON lines, every value escaped, the SDKs kept quiet."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["FORMATS", "LEVELS", "MAX_VALUE_CHARS", "QUIET_LOGGERS", "clean", "configure"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("json", "text")
# a logged value from outside (an id, a header, an SDK's message argument) is cut to this many characters
MAX_VALUE_CHARS = 300
# a whole message, once its arguments are in: SDKs build some messages themselves, whole bodies included
MAX_MESSAGE_CHARS = 1000
# the innermost frames of a traceback are the ones that say what went wrong
MAX_FRAMES = 30

# SDKs that write request or response bodies, tokens or URLs with query strings in INFO or DEBUG lines
# (Bolt logs a refused request's body at INFO, slack_sdk and msrest every payload at DEBUG, aiohttp's
# access log the request line with its query string): held at WARNING whatever LOG_LEVEL says.
QUIET_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "botbuilder",
    "botframework",
    "msrest",
    "msal",
    "alembic",  # its start-up chatter; the store logs the migration it ran itself
    "urllib3",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.client",
    "aiohttp.websocket",
    "asyncio",
)

# C0 and C1 controls (newlines, ESC of ANSI sequences), DEL, Unicode line and paragraph separators, and
# the bidirectional overrides that make a log line read differently from what it holds
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# what every LogRecord carries: anything else on a record came from `extra=`
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def clean(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """One line, no control characters, at most about `limit` characters: safe to write to any log."""
    text = value if isinstance(value, str) else str(value)
    escaped = _UNSAFE.sub(_escape, text[:limit])
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}…[{len(text)} chars]"


def _safe_arg(value: object) -> object:
    # numbers keep their type so that %d and %.1f still work; everything else is text from somewhere
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean(value)


def _message(record: logging.LogRecord) -> str:
    args = record.args
    if isinstance(args, dict):
        args = {key: _safe_arg(value) for key, value in args.items()}
    elif args:
        args = tuple(_safe_arg(value) for value in args)
    try:
        text = str(record.msg) % args if args else str(record.msg)
    except (TypeError, ValueError, KeyError):  # a message that does not fit its arguments still gets written
        text = f"{record.msg} {args}"
    return clean(text, MAX_MESSAGE_CHARS)


def _field(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean(value)


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        clean(key, 64): _field(value)
        for key, value in record.__dict__.items()
        if key not in _STANDARD and not key.startswith("_")
    }


def _traceback(error: BaseException, seen: set[int] | None = None) -> list[str]:
    """Frames as Python prints them (file names and source lines: ours), the exception's text escaped."""
    seen = seen if seen is not None else set()
    seen.add(id(error))
    lines: list[str] = []
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if cause is not None and id(cause) not in seen:
        lines += _traceback(cause, seen)
        lines.append("The exception above led to the one below:")
    lines.append("Traceback (most recent call last):")
    for frame in traceback.format_tb(error.__traceback__, limit=-MAX_FRAMES):
        lines += frame.rstrip("\n").split("\n")
    lines.append(f"{type(error).__module__}.{type(error).__qualname__}: {clean(error)}")
    return lines


def _exception(record: logging.LogRecord) -> list[str]:
    if record.exc_info and record.exc_info[1] is not None:
        return _traceback(record.exc_info[1])
    return []


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the `extra=` fields, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": clean(record.name, 100),
            "message": _message(record),
        }
        line.update((key, value) for key, value in _fields(record).items() if key not in line)
        if exception := _exception(record):
            line["exception"] = "\n".join(exception)
        return json.dumps(line, ensure_ascii=False)


def _logfmt(value: object) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(text, ensure_ascii=False) if not text or re.search(r'[\s="]', text) else text


class TextFormatter(logging.Formatter):
    """A line a person reads: time, level, logger, message, then key=value for each `extra=` field."""

    def format(self, record: logging.LogRecord) -> str:
        fields = "".join(f" {key}={_logfmt(value)}" for key, value in _fields(record).items())
        line = f"{_time(record)} {record.levelname} {clean(record.name, 100)}: {_message(record)}{fields}"
        # a traceback's lines are indented, so none of them can pass for a record of its own
        return "\n".join([line, *(f"    {frame}" for frame in _exception(record))])


class _Handler(logging.StreamHandler[TextIO]):
    """The handler `configure` installs, told apart from any other (pytest's, for one) when replaced."""


def _level(level: str) -> int:
    name = (level or "INFO").strip().upper()
    name = {"WARN": "WARNING"}.get(name, name)
    if name not in LEVELS:
        allowed = ", ".join(LEVELS)
        raise ValueError(f"LOG_LEVEL must be one of {allowed} (in any case), not {clean(level, 40)!r}")
    return logging.getLevelNamesMapping()[name]


def _format(fmt: str | None, stream: TextIO) -> logging.Formatter:
    name = (fmt or "").strip().lower()
    if not name:
        # a person at a terminal reads text; a container's log collector reads JSON
        name = "text" if stream.isatty() else "json"
    if name not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be json or text, not {clean(fmt, 40)!r}")
    return JsonFormatter() if name == "json" else TextFormatter()


def configure(level: str, fmt: str | None, stream: TextIO | None = None) -> None:
    """Route every logger's records through one escaping formatter on stderr (or `stream`).

    `level` is LOG_LEVEL in any case; `fmt` is LOG_FORMAT, json or text, and None or empty for text on a
    terminal and JSON otherwise. Raises ValueError with one line naming the variable when a value is
    unknown, before anything changes.
    """
    stream = stream if stream is not None else sys.stderr
    number = _level(level)
    handler = _Handler(stream)
    handler.setFormatter(_format(fmt, stream))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(number)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(number, logging.WARNING))
    # Python's warnings (an SDK's deprecation notices) would otherwise go to stderr raw, breaking the lines
    logging.captureWarnings(True)
