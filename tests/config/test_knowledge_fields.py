"""A knowledge file with a field nothing reads, or that is not UTF-8, is refused naming the file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from knowledge import KNOWLEDGE_DIR


def _copy(tmp_path: Path, file: str, old: bytes, new: bytes) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (folder / file).read_bytes()
    assert old in text
    (folder / file).write_bytes(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize(
    ("file", "old", "new", "entry", "field"),
    [
        ("faq.yaml", b"\nhelpdesk:", b"\nhelpdesks: {}\nhelpdesk:", None, "helpdesks"),
        (
            "faq.yaml",
            b"    short_title: Applying",
            b"    colour: blue\n    short_title: Applying",
            "apply",
            "colour",
        ),
        (
            "faq.yaml",
            b"        label: NHSmail portal registration",
            b"        lable: x\n        label: NHSmail portal registration",
            "apply",
            "links[0].lable",
        ),
        (
            "faq.yaml",
            b'  phone: "0333 200 1133"',
            b'  phone: "0333 200 1133"\n  fax: x',
            None,
            "helpdesk.fax",
        ),
        ("messages.yaml", b"\ngreeting:", b"\ngreetings: Hi\ngreeting:", None, "greetings"),
        (
            "messages.yaml",
            b"\n  goodbye: [",
            b"\n  farewell: [ciao]\n  goodbye: [",
            None,
            "smalltalk.farewell",
        ),
    ],
)
def test_an_unknown_field_is_named(
    tmp_path: Path, file: str, old: bytes, new: bytes, entry: str | None, field: str
) -> None:
    with pytest.raises(KnowledgeError, match="is not a known field") as raised:
        load_knowledge(_copy(tmp_path, file, old, new))
    assert (raised.value.file, raised.value.entry, raised.value.field) == (file, entry, field)


@pytest.mark.parametrize("file", ["faq.yaml", "messages.yaml"])
def test_a_file_that_is_not_utf8_is_named(tmp_path: Path, file: str) -> None:
    folder = _copy(tmp_path, file, b"NHSmail", b"NHSmail caf\xe9")
    with pytest.raises(KnowledgeError, match="is not UTF-8") as raised:
        load_knowledge(folder)
    assert raised.value.file == file


def test_the_shipped_knowledge_has_no_unknown_field() -> None:
    assert len(load_knowledge().entries) == 24
