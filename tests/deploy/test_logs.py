"""Logging: LOG_LEVEL in any case, LOG_FORMAT json or text, every value escaped, the SDKs held at WARNING."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from adapters import logs
from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine

FORGED = (
    "x\n2026-01-01T00:00:00.000+00:00 CRITICAL adapters.teams: forged \x1b[31mred\x1b[0m\r\u2028\u202eevil"
)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure() changes the process's loggers: put them back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def configured(level: str = "INFO", fmt: str | None = "json") -> io.StringIO:
    stream = io.StringIO()
    logs.configure(level, fmt, stream)
    return stream


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("level", ["debug", "Info", "WARNING", "warn", "error", "Critical", " info "])
def test_log_level_in_any_case(level: str) -> None:
    configured(level)
    expected = {"warn": "WARNING"}.get(level.strip().lower(), level.strip().upper())
    assert logging.getLevelName(logging.getLogger().level) == expected


@pytest.mark.parametrize("level", ["VERBOSE", "trace", "10", "info\nCRITICAL forged"])
def test_unknown_log_level_is_one_line_naming_the_variable_and_the_choices(level: str) -> None:
    with pytest.raises(ValueError) as raised:
        configured(level)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("LOG_LEVEL")
    assert all(name in message for name in logs.LEVELS)


def test_unknown_log_format_names_the_variable() -> None:
    with pytest.raises(ValueError, match=r"^LOG_FORMAT must be json or text"):
        configured("INFO", "xml")


def test_json_by_default_off_a_terminal_and_text_on_one() -> None:
    piped = configured("INFO", None)
    logging.getLogger("adapters.test").info("ready")
    assert json.loads(piped.getvalue())["message"] == "ready"

    main, side = os.openpty()
    with open(side, "w", encoding="utf-8") as terminal, open(main, "rb", buffering=0) as screen:
        logs.configure("INFO", None, terminal)
        logging.getLogger("adapters.test").info("ready")
        terminal.flush()
        shown = screen.read(4096).decode()
    assert " INFO adapters.test: ready" in shown and "{" not in shown


def test_json_line_has_time_level_logger_message_and_the_extra_fields() -> None:
    stream = configured("INFO", "JSON")
    fields = {"platform": "teams", "request_id": "a-1", "outcome": "answer", "topic": "forgotten-password"}
    logging.getLogger("adapters.teams").info("turn done", extra={**fields, "latency_ms": 4.2})
    [line] = lines(stream)
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "adapters.teams"
    assert record["message"] == "turn done" and record["latency_ms"] == 4.2
    assert fields.items() <= record.items()
    assert record["time"].endswith("+00:00") and record["time"][:4].isdigit()


def test_text_line_has_the_extra_fields_as_key_value() -> None:
    stream = configured("INFO", "text")
    logging.getLogger("adapters.slack").info("turn done", extra={"platform": "slack", "latency_ms": 12})
    [line] = lines(stream)
    assert line.endswith(" INFO adapters.slack: turn done platform=slack latency_ms=12")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_forged_line_is_not_written(fmt: str) -> None:
    """Newlines, ANSI codes, line separators and bidi overrides from outside are escaped, not written."""
    stream = configured("DEBUG", fmt)
    log = logging.getLogger("adapters.teams")
    log.info("teams: conversation type %s", FORGED)
    log.info("teams: %(kind)s", {"kind": FORGED})
    log.warning("teams: refused", extra={"conversation_type": FORGED})
    log.info(FORGED)  # a message built before logging, as some SDKs do
    written = stream.getvalue()
    assert len(lines(stream)) == 4
    for bad in ("\x1b", "\r", "\u2028", "\u202e"):
        assert bad not in written
    assert "\\n2026-01-01" in written and "\\x1b[31m" in written
    assert not any(line.startswith("2026-01-01") for line in lines(stream))


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_values_are_bounded(fmt: str) -> None:
    stream = configured("INFO", fmt)
    long = {"channel": "c" * 100_000}
    logging.getLogger("adapters.slack").info("slack: event %s", "e" * 100_000, extra=long)
    [line] = lines(stream)
    assert len(line) < 2 * logs.MAX_VALUE_CHARS + 400
    assert "[100000 chars]" in line


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_traceback_cannot_forge_a_record(fmt: str) -> None:
    stream = configured("INFO", fmt)
    try:
        raise ValueError(FORGED)
    except ValueError:
        logging.getLogger("adapters.teams").exception("teams: the turn failed")
    written = lines(stream)
    if fmt == "json":
        [line] = written
        assert "ValueError: x\\n2026" in json.loads(line)["exception"]
    else:
        assert written[0].endswith(" ERROR adapters.teams: teams: the turn failed")
        assert all(line.startswith("    ") for line in written[1:]) and len(written) > 3
        assert "\x1b" not in stream.getvalue()


@pytest.mark.parametrize("name", logs.QUIET_LOGGERS)
def test_sdk_loggers_stay_at_warning_even_at_debug_and_are_escaped(name: str) -> None:
    stream = configured("debug", "json")
    sdk = logging.getLogger(f"{name}.inner")
    sdk.debug("payload %s", "the password for the shared mailbox is sunshine")
    sdk.info("body: %s", "the password for the shared mailbox is sunshine")
    sdk.warning("refused %s", FORGED)
    [line] = lines(stream)
    assert "sunshine" not in stream.getvalue() and "\x1b" not in line
    assert json.loads(line)["logger"] == f"{name}.inner"


def test_our_own_loggers_follow_log_level() -> None:
    stream = configured("DEBUG", "json")
    logging.getLogger("adapters.teams").debug("teams: detail")
    assert json.loads(stream.getvalue())["level"] == "DEBUG"


async def test_the_access_log_writes_no_query_string(engine: Engine) -> None:
    """aiohttp's access log writes the request line, query string and all: it is not written at all."""
    stream = configured("DEBUG", "text")
    runner = web.AppRunner(create_app(Settings(), engine))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/healthz?password=sunshine", "/nowhere?nhs=9434765919", "/metrics?token=xoxb-1"):
                async with session.get(f"http://{host}:{port}{path}") as response:
                    await response.read()
    finally:
        await runner.cleanup()
    written = stream.getvalue()
    assert "sunshine" not in written and "9434765919" not in written and "xoxb" not in written


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOG_")} | env
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"), [({"LOG_LEVEL": "VERBOSE"}, "LOG_LEVEL"), ({"LOG_FORMAT": "yaml"}, "LOG_FORMAT")]
)
def test_cli_refuses_an_unknown_value_with_one_line_and_status_2(env: dict[str, str], variable: str) -> None:
    result = run_cli("topics", **env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and variable in result.stderr and "Traceback" not in result.stderr


def test_cli_takes_a_lower_case_level() -> None:
    result = run_cli("topics", LOG_LEVEL="debug", LOG_FORMAT="json")
    assert result.returncode == 0 and "forgotten-password" in result.stdout
    assert "Traceback" not in result.stderr


def test_python_warnings_become_escaped_log_lines() -> None:
    """An SDK's deprecation warning goes through the formatter, not raw onto stderr between the lines."""
    code = (
        "import warnings; from adapters import logs; logs.configure('INFO', 'json'); "
        "warnings.warn('old API\\nforged line \\x1b[31m', DeprecationWarning, stacklevel=1)"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "PYTHONWARNINGS"))}
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    [line] = result.stderr.splitlines()
    record = json.loads(line)
    assert record["logger"] == "py.warnings" and "old API\\nforged line \\x1b[31m" in record["message"]
