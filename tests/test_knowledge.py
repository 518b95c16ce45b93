"""The shipped knowledge base is faithful to its source, and a broken one is refused with a clear error."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.engine import Engine
from bot.knowledge import MIN_ALTERNATES, KnowledgeBase, KnowledgeError, load_knowledge, review_due
from knowledge import KNOWLEDGE_DIR

URL = re.compile(r"https?://[^\s>)]+?(?=[.,;]?(?:\s|$|>))")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\b0\d{3} \d{3} \d{4}\b")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _flat(text: str) -> str:
    """Text with formatting dropped (link brackets, bold, bullets, numbering), the document's typo fixed."""
    text = text.replace("NHSmial", "NHSmail").replace("[Microsoft Teams](#)", "Microsoft Teams")
    text = re.sub(r"[<>]|\*\*", "", text)
    text = re.sub(r"(?m)^\s*(?:- |\d+\. )", "", text)
    return " ".join(text.split())


def _everything(kb: KnowledgeBase) -> str:
    return "\n".join(e.answer + "".join(c.value for c in e.contacts) for e in kb.entries)


def test_every_url_email_and_phone_in_the_source_is_in_the_kb(kb: KnowledgeBase) -> None:
    source = kb.source.read_text(encoding="utf-8")
    shipped = _everything(kb)
    for pattern in (URL, EMAIL, PHONE):
        for value in set(pattern.findall(source)):
            assert value in shipped, value


def test_every_sentence_of_every_answer_is_in_the_source(kb: KnowledgeBase) -> None:
    source = _flat(kb.source.read_text(encoding="utf-8"))
    for entry in kb.entries:
        for paragraph in re.split(r"\n\s*\n", entry.answer):
            for line in paragraph.splitlines():
                for sentence in re.split(r"(?<=[.;?])\s+(?=[A-Z])", _flat(line)):
                    assert sentence in source, (entry.id, sentence)


def test_every_question_of_the_source_is_an_entry(kb: KnowledgeBase) -> None:
    source = _flat(kb.source.read_text(encoding="utf-8"))
    titles = [_flat(e.title) for e in kb.entries]
    assert all(t in source for t in titles)
    assert len(kb.entries) == 24


def test_the_typo_nhsmial_is_fixed_in_displayed_text(kb: KnowledgeBase) -> None:
    for entry in kb.entries:
        assert "NHSmial" not in entry.title + entry.answer + entry.short_title


def test_entries_are_complete(kb: KnowledgeBase) -> None:
    for entry in kb.entries:
        assert len(entry.alternates) >= MIN_ALTERNATES, entry.id
        assert entry.related, entry.id
        assert len(entry.short_title) <= 75, entry.id
        for url in URL.findall(entry.answer):
            assert url in {link.url for link in entry.links}, (entry.id, url)


def test_password_recovery_call_is_structured_steps(kb: KnowledgeBase) -> None:
    entry = kb.entry("password-recovery-call")
    assert entry is not None and entry.phone_steps is not None
    steps = entry.phone_steps
    assert steps.number == "0333 200 1133"
    assert steps.steps[0] == "Call Helpdesk 0333 200 1133"
    assert any("option 1" in s for s in steps.steps)
    assert any("press 1 to be transferred to an agent" in s for s in steps.steps)
    assert len(steps.have_ready) == 3
    assert any("https://portal.nhs.net/" in s for s in steps.after_steps)


# --- validation: a broken knowledge base names the file, the entry and the field ---------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    for name in ("faq.yaml", "messages.yaml", "source-nhsmail-faq-care-providers.txt"):
        shutil.copy(KNOWLEDGE_DIR / name, tmp_path / name)
    return tmp_path


def _edit(folder: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = folder / "faq.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "entry", "field"),
    [
        (lambda d: d["entries"][0].pop("title"), "apply", "title"),
        (lambda d: d["entries"][1].update(alternates=["one", "two"]), "why-nhsmail", "alternates"),
        (lambda d: d["entries"][0].update(related=["no-such-topic"]), "apply", "related"),
        (lambda d: d["entries"][0]["links"][0].update(url="portal.nhs.net"), "apply", "links[0].url"),
        (
            lambda d: d["entries"][4]["contacts"][0].update(kind="fax"),
            "wrong-registration-details",
            "contacts[0].kind",
        ),
        (lambda d: d["entries"][2].update(last_reviewed="last week"), "account-limit", "last_reviewed"),
        (lambda d: d["entries"][2].update(last_reviewed="2026-02-30"), "account-limit", "last_reviewed"),
    ],
)
def test_an_invalid_entry_is_named_with_its_field(broken: Path, change, entry: str, field: str) -> None:  # type: ignore[no-untyped-def]
    _edit(broken, change)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(broken)
    assert caught.value.file == "faq.yaml"
    assert caught.value.entry == entry
    assert caught.value.field == field
    assert "faq.yaml" in str(caught.value) and entry in str(caught.value) and field in str(caught.value)


def test_anchor_words_are_required(broken: Path) -> None:
    _edit(broken, lambda d: d.pop("anchors"))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(broken)
    assert (caught.value.file, caught.value.entry, caught.value.field) == ("faq.yaml", None, "anchors")


def test_answers_cite_the_source_by_the_name_the_knowledge_gives(broken: Path) -> None:
    _edit(broken, lambda d: d.update(source_title="Care providers' NHSmail questions"))
    reply = Engine(load_knowledge(broken)).answer_topic("apply")
    assert reply.source.startswith("From the Care providers' NHSmail questions · checked ")

    _edit(broken, lambda d: d.pop("source_title"))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(broken)
    assert (caught.value.file, caught.value.field) == ("faq.yaml", "source_title")


def test_the_source_line_may_name_only_the_title_and_the_date(broken: Path) -> None:
    path = broken / "messages.yaml"
    text = path.read_text(encoding="utf-8").replace("checked {date}", "checked {when}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(broken)
    assert (caught.value.file, caught.value.field) == ("messages.yaml", "answer_source")


def test_a_duplicate_id_is_refused(broken: Path) -> None:
    _edit(broken, lambda d: d["entries"][1].update(id="apply"))
    with pytest.raises(KnowledgeError, match="more than once"):
        load_knowledge(broken)


def test_yaml_that_does_not_parse_is_refused(broken: Path) -> None:
    (broken / "faq.yaml").write_text("entries: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        load_knowledge(broken)


def test_the_bot_refuses_to_start_on_an_invalid_kb(broken: Path) -> None:
    _edit(broken, lambda d: d["entries"][0].pop("answer"))
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--knowledge", str(broken), "ask", "hello"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "faq.yaml" in result.stderr and "'apply'" in result.stderr and "'answer'" in result.stderr
    assert result.stdout == ""


def test_review_is_due_for_entries_not_checked_within_whole_months_of_today() -> None:
    first, second, third = load_knowledge().entries[:3]
    entries = (
        replace(first, last_reviewed="2026-05-31"),
        replace(second, last_reviewed="2026-06-01"),
        replace(third, last_reviewed="2025-01-01"),
    )

    assert review_due(entries, date(2026, 12, 1), 6) == (entries[2], entries[0])  # oldest first
    assert review_due(entries, date(2026, 12, 1), 24) == ()
    # six months before 31 August is the end of February
    feb = (replace(first, last_reviewed="2026-02-27"), replace(second, last_reviewed="2026-02-28"))
    assert review_due(feb, date(2026, 8, 31), 6) == feb[:1]
    assert review_due(entries, date(2026, 12, 1), 999_999) == ()
