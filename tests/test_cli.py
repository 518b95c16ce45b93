"""The nhsmail-bot command, run as a user or another tool runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from adapters.cli import review_warnings
from bot.engine import Engine
from knowledge import KNOWLEDGE_DIR

ROOT = Path(__file__).resolve().parents[1]
JSON_KEYS = {"kind", "matched", "topic", "title", "confidence", "answer", "steps", "suggestions", "warnings"}


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_ask_prints_the_answer_for_a_person() -> None:
    result = run("ask", "I've forgotten my password")
    assert result.returncode == 0
    assert "Unlock Account or Forgotten Password" in result.stdout
    assert "https://support.nhs.net/knowledge-base/unlocking-your-account/" in result.stdout


def test_ask_json_contract() -> None:
    result = json.loads(run("ask", "--json", "what are the steps when I phone the helpdesk").stdout)
    assert set(result) == JSON_KEYS
    assert result["kind"] == "answer" and result["matched"] is True
    assert result["topic"] == "password-recovery-call"
    assert result["steps"][0] == "Call Helpdesk 0333 200 1133"
    assert "https://portal.nhs.net/" in result["answer"] and "0333 200 1133" in result["answer"]


def test_ask_json_fallback_is_not_matched() -> None:
    result = json.loads(run("ask", "--json", "zxqv wibble plonk").stdout)
    assert (result["kind"], result["matched"], result["topic"], result["title"]) == (
        "fallback",
        False,
        None,
        None,
    )
    assert "careadmin@nhs.net" in result["answer"]


def test_ask_reads_one_message_per_line_in_one_process() -> None:
    lines = ["locked out", "hello", "how do I set an out of office", "password"]
    result = run("ask", "--json", stdin="\n".join(lines) + "\n")
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(replies) == len(lines)
    assert all(set(r) == JSON_KEYS for r in replies)
    assert [r["kind"] for r in replies[:3]] == ["answer", "smalltalk", "fallback"]
    clarify = replies[3]
    if clarify["kind"] == "clarify":
        assert all(s["title"] in clarify["answer"] for s in clarify["suggestions"])


def test_chat_from_a_pipe_reads_to_eof_and_takes_numbers() -> None:
    result = run("chat", stdin="I've forgotten my password\n1\n")
    assert result.returncode == 0
    assert "Unlock Account or Forgotten Password" in result.stdout
    first_related = result.stdout.split("Related:")[1].splitlines()[1].split("] ", 1)[1]
    assert result.stdout.count("== ") == 2, "the number opened a related answer"
    assert first_related


def test_topics_lists_every_entry() -> None:
    assert len(run("topics").stdout.splitlines()) == 24


def test_kb_check_routes_every_phrasing() -> None:
    result = run("kb", "check")
    assert result.returncode == 0, result.stdout
    assert "test all:" in result.stdout


def _kb_check(knowledge: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--knowledge", str(knowledge), "kb", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "REVIEW_MONTHS"} | environ,
        timeout=60,
    )


@pytest.fixture
def one_old_entry(tmp_path: Path) -> Path:
    """A copy of the knowledge folder in which one entry was last reviewed long ago."""
    for path in KNOWLEDGE_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    faq = tmp_path / "faq.yaml"
    text = faq.read_text(encoding="utf-8")
    at = text.index("  - id: account-limit")
    reviewed = text.index('last_reviewed: "', at)
    old = (
        text[:reviewed]
        + 'last_reviewed: "2020-01-15"'
        + text[reviewed + len('last_reviewed: "2026-11-23"') :]
    )
    faq.write_text(old, encoding="utf-8")
    return tmp_path


def test_kb_check_warns_about_an_entry_not_reviewed_for_months(one_old_entry: Path) -> None:
    result = _kb_check(one_old_entry)

    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not a failure
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: account-limit: last reviewed 2020-01-15, more than 6 months ago (REVIEW_MONTHS): "
        "check it against the source, then update last_reviewed"
    ]
    assert re.search(r"test all: (\d+)/\1 phrasings route to their own entry", result.stdout)


def test_review_months_sets_how_old_is_too_old(one_old_entry: Path) -> None:
    result = _kb_check(one_old_entry, REVIEW_MONTHS="1200")

    assert result.returncode == 0
    assert "warning:" not in result.stdout


@pytest.mark.parametrize("months", ["0", "six", "1.5", "\u00b2", "9" * 5000])
def test_a_review_months_that_is_not_a_whole_number_stops_kb_check(months: str) -> None:
    result = _kb_check(KNOWLEDGE_DIR, REVIEW_MONTHS=months)

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("nhsmail-bot: REVIEW_MONTHS must be a whole number of months")


def test_review_warnings_count_months_from_the_day_given(engine: Engine) -> None:
    reviewed = {entry.last_reviewed for entry in engine.kb.entries}
    assert reviewed == {"2026-11-23"}

    # six months after the review day is still within; the day after is not
    assert review_warnings(engine.kb.entries, date(2027, 5, 23), 6) == []
    due = review_warnings(engine.kb.entries, date(2027, 5, 24), 6)
    assert len(due) == len(engine.kb.entries)
    assert due[0].startswith("warning: ") and "last reviewed 2026-11-23, more than 6 months ago" in due[0]
    assert review_warnings(engine.kb.entries, date(2027, 5, 24), 7) == []


def test_teams_package_is_written_and_a_bad_id_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "teams.zip"
    app_id = "2b7a8c3e-1f4d-4e5a-9b6c-7d8e9f0a1b2c"
    assert run("teams-package", "--app-id", app_id, "--out", str(out)).returncode == 0
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(package.read("manifest.json"))["bots"][0]["botId"] == app_id
    refused = run("teams-package", "--app-id", "not-a-guid", "--out", str(tmp_path / "x.zip"))
    assert refused.returncode == 2 and "GUID" in refused.stderr and "Traceback" not in refused.stderr
