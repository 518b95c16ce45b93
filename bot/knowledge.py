"""Load and validate the knowledge YAML: an error names the file, the entry id and the field."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.models import Contact, Entry, Link, OutOfScope, PhoneSteps
from knowledge import KNOWLEDGE_DIR

try:  # libyaml's loader is several times faster, and start-up time matters for the CLI
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

FAQ_FILE = "faq.yaml"
MESSAGES_FILE = "messages.yaml"
MIN_ALTERNATES = 8
# in the order they decide a reply: "thanks, bye" is thanks, "ok bye" goodbye, "ok" alone an acknowledgement
SMALLTALK_KINDS = ("thanks", "goodbye", "help", "greeting", "ack")
# messages.yaml's warnings: one sentence for each (bot/privacy.py says which kinds call for which)
WARNING_NOTICES = ("password", "resident", "contact")

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PHONE = re.compile(r"^0\d{3} \d{3} \d{4}$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class KnowledgeError(ValueError):
    """The knowledge files are invalid; the message says where."""

    def __init__(self, file: str, problem: str, entry: str | None = None, field: str | None = None) -> None:
        where = file + (f": entry {entry!r}" if entry else "") + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")
        self.file, self.entry, self.field = file, entry, field


@dataclass(frozen=True, slots=True)
class Helpdesk:
    name: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Messages:
    """The bot's own words (knowledge/messages.yaml)."""

    welcome: str
    examples: tuple[str, ...]
    greeting: str
    thanks: str
    goodbye: str
    ack: str
    help: str
    clarify: str
    fallback: str
    fallback_helpdesk: str
    fallback_topics: str
    empty: str
    smalltalk: Mapping[str, frozenset[str]]  # kind -> words; "filler" words carry no kind
    # what to say before the answer about what a message should not carry: "password", "resident", "contact"
    warnings: Mapping[str, str]
    rate_limited: str
    # the line under every answer, with {title} (the source's) and {date} (the entry's last_reviewed)
    answer_source: str
    names: tuple[str, ...] = ()  # what people call the bot ("NHSmail Help"): set aside in small talk


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    out_of_scope: tuple[OutOfScope, ...]
    synonyms: Mapping[str, tuple[str, ...]]
    # words that show a message is about NHSmail at all; an entry's keywords of several words count too
    anchors: tuple[str, ...]
    # words that say who is asking and where they work: they open messages on every subject
    background: tuple[str, ...]
    helpdesk: Helpdesk
    messages: Messages
    source: Path
    source_title: str  # the source document's name, as answers cite it

    def entry(self, topic: str) -> Entry | None:
        return next((e for e in self.entries if e.id == topic), None)


class _Reader:
    """Typed access to one YAML mapping, raising KnowledgeError that says where."""

    def __init__(self, file: str, data: Any, entry: str | None = None, prefix: str = "") -> None:
        if not isinstance(data, dict):
            raise KnowledgeError(file, "expected a mapping", entry, prefix or None)
        self.file, self.data, self.entry, self.prefix = file, data, entry, prefix
        # the fields read so far, and the mappings read through this one: whatever is left is unknown
        self.read: set[str] = set()
        self.children: list[_Reader] = []

    def _fail(self, field: str, problem: str) -> KnowledgeError:
        return KnowledgeError(self.file, problem, self.entry, self.prefix + field)

    def get(self, field: str, default: Any = None) -> Any:
        self.read.add(field)
        return self.data.get(field, default)

    def check_fields(self) -> None:
        """Refuse a field nothing reads: a misspelt `alternates` must not be ignored silently."""
        for field in self.data:
            if field not in self.read:
                raise self._fail(str(field), "is not a known field (misspelt, or in the wrong place?)")
        for child in self.children:
            child.check_fields()

    def text(self, field: str, pattern: re.Pattern[str] | None = None, default: str | None = None) -> str:
        value = self.get(field, default)
        if value is None:
            raise self._fail(field, "is missing")
        if not isinstance(value, str) or not value.strip():
            raise self._fail(field, "must be non-empty text")
        if pattern and not pattern.match(value):
            raise self._fail(field, f"{value!r} does not look right (expected {pattern.pattern})")
        return value.strip()

    def texts(self, field: str, minimum: int = 0) -> tuple[str, ...]:
        value = self.get(field) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._fail(field, "must be a list of non-empty texts")
        if len(value) < minimum:
            raise self._fail(field, f"needs at least {minimum} items, has {len(value)}")
        return tuple(v.strip() for v in value)

    def mappings(self, field: str, entry_id: str | None = None) -> list[_Reader]:
        """The list's mappings; with `entry_id`, each one is an entry named by that field's value."""
        value = self.get(field) or []
        if not isinstance(value, list):
            raise self._fail(field, "must be a list")
        children = [
            _Reader(self.file, v, str(v.get(entry_id)))
            if entry_id and isinstance(v, dict)
            else _Reader(self.file, v, self.entry, f"{self.prefix}{field}[{i}].")
            for i, v in enumerate(value)
        ]
        self.children += children
        return children

    def mapping(self, field: str) -> _Reader | None:
        value = self.get(field)
        if value is None:
            return None
        child = _Reader(self.file, value, self.entry, f"{self.prefix}{field}.")
        self.children.append(child)
        return child


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as error:
        raise KnowledgeError(path.name, f"cannot be read: {error}") from error
    except UnicodeDecodeError as error:
        raise KnowledgeError(
            path.name, f"is not UTF-8 text (byte {error.start}): save it with UTF-8 encoding"
        ) from error
    except yaml.YAMLError as error:
        raise KnowledgeError(path.name, f"is not valid YAML: {error}") from error


def _phone_steps(r: _Reader) -> PhoneSteps:
    return PhoneSteps(
        number=r.text("number", _PHONE),
        intro=r.text("intro"),
        steps=r.texts("steps", minimum=1),
        have_ready_intro=r.text("have_ready_intro"),
        have_ready=r.texts("have_ready"),
        have_ready_note=r.text("have_ready_note"),
        after_intro=r.text("after_intro"),
        after_steps=r.texts("after_steps"),
        after_notes=r.texts("after_notes"),
    )


def phone_steps_text(steps: PhoneSteps) -> str:
    """The phone menu as answer text: numbered steps, "- " bullets, so every answer has one plain form."""
    return "\n\n".join(
        [
            steps.intro,
            "\n".join(f"{n}. {s}" for n, s in enumerate(steps.steps, 1)),
            steps.have_ready_intro,
            "\n".join(f"- {s}" for s in steps.have_ready),
            steps.have_ready_note,
            steps.after_intro,
            "\n".join(f"{n}. {s}" for n, s in enumerate(steps.after_steps, 1)),
            *steps.after_notes,
        ]
    )


def _entry(r: _Reader) -> Entry:
    steps_reader = r.mapping("phone_steps")
    phone_steps = _phone_steps(steps_reader) if steps_reader else None
    if phone_steps is None:
        answer = r.text("answer")
    elif "answer" in r.data:
        raise r._fail("answer", "must be left out where phone_steps gives the answer")
    else:
        answer = phone_steps_text(phone_steps)
    return Entry(
        id=r.text("id", _ID),
        title=r.text("title"),
        short_title=r.text("short_title"),
        answer=answer,
        section=r.text("section"),
        last_reviewed=_date(r, "last_reviewed"),
        alternates=r.texts("alternates", minimum=MIN_ALTERNATES),
        links=tuple(
            Link(url=x.text("url", re.compile(r"^https://\S+$")), label=x.text("label"))
            for x in r.mappings("links")
        ),
        contacts=tuple(_contact(x) for x in r.mappings("contacts")),
        related=r.texts("related"),
        phone_steps=phone_steps,
        keywords=r.texts("keywords"),
    )


def _date(r: _Reader, field: str) -> str:
    value = r.text(field, _DATE)
    try:
        date.fromisoformat(value)
    except ValueError as error:
        raise r._fail(field, f"{value!r} is not a date: {error}") from error
    return value


def _contact(r: _Reader) -> Contact:
    kind = r.text("kind")
    if kind not in ("phone", "email"):
        raise r._fail("kind", f"must be phone or email, not {kind!r}")
    return Contact(
        kind=kind, value=r.text("value", _PHONE if kind == "phone" else _EMAIL), label=r.text("label")
    )


def _check_references(file: str, entries: tuple[Entry, ...]) -> None:
    ids = [e.id for e in entries]
    for entry in entries:
        if ids.count(entry.id) > 1:
            raise KnowledgeError(file, "the id is used more than once", entry.id, "id")
        for topic in entry.related:
            if topic not in ids or topic == entry.id:
                raise KnowledgeError(file, f"{topic!r} is not another entry's id", entry.id, "related")
        for link in entry.links:
            if link.url not in entry.answer:
                raise KnowledgeError(file, f"{link.url} does not appear in the answer", entry.id, "links")
        for contact in entry.contacts:
            if contact.value not in entry.answer:
                raise KnowledgeError(
                    file, f"{contact.value} does not appear in the answer", entry.id, "contacts"
                )


def _messages(file: str, data: Any, topics: set[str]) -> Messages:
    r = _Reader(file, data)
    examples = r.texts("examples", minimum=1)
    for topic in examples:
        if topic not in topics:
            raise KnowledgeError(file, f"{topic!r} is not an entry id", field="examples")
    words = r.mapping("smalltalk")
    if words is None:
        raise KnowledgeError(file, "is missing", field="smalltalk")
    smalltalk = {
        kind: frozenset(w.lower() for w in words.texts(kind)) for kind in (*SMALLTALK_KINDS, "filler")
    }
    messages = Messages(
        welcome=r.text("welcome"),
        examples=examples,
        greeting=r.text("greeting"),
        thanks=r.text("thanks"),
        goodbye=r.text("goodbye"),
        ack=r.text("ack"),
        help=r.text("help"),
        clarify=r.text("clarify"),
        fallback=r.text("fallback"),
        fallback_helpdesk=r.text("fallback_helpdesk"),
        fallback_topics=r.text("fallback_topics"),
        empty=r.text("empty"),
        smalltalk=smalltalk,
        warnings=_warnings(r),
        rate_limited=r.text("rate_limited"),
        answer_source=_answer_source(r),
        names=r.texts("names"),
    )
    r.check_fields()
    return messages


def _answer_source(r: _Reader) -> str:
    line = r.text("answer_source")
    try:
        line.format(title="", date="")
    except (KeyError, IndexError, ValueError) as error:
        raise r._fail("answer_source", f"may use only {{title}} and {{date}}, not {error}") from error
    return line


def _warnings(r: _Reader) -> dict[str, str]:
    warnings = r.mapping("warnings")
    if warnings is None:
        raise KnowledgeError(r.file, "is missing", field="warnings")
    return {notice: warnings.text(notice) for notice in WARNING_NOTICES}


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
    """Read and validate the knowledge files; raise KnowledgeError on the first problem."""
    faq = _Reader(FAQ_FILE, _read_yaml(directory / FAQ_FILE))
    entries = tuple(_entry(r) for r in faq.mappings("entries", entry_id="id"))
    if not entries:
        raise KnowledgeError(FAQ_FILE, "has no entries", field="entries")
    _check_references(FAQ_FILE, entries)
    out_of_scope = tuple(
        OutOfScope(id=r.text("id", _ID), title=r.text("title"), phrasings=r.texts("phrasings", minimum=1))
        for r in faq.mappings("out_of_scope")
    )
    synonyms_data = faq.get("synonyms") or {}
    if not isinstance(synonyms_data, dict):
        raise KnowledgeError(FAQ_FILE, "must be a mapping of word: [variants]", field="synonyms")
    synonyms = {str(k): _Reader(FAQ_FILE, synonyms_data, prefix="synonyms.").texts(k) for k in synonyms_data}
    anchors = faq.texts("anchors", minimum=1)
    background = faq.texts("background")
    desk = faq.mapping("helpdesk")
    if desk is None:
        raise KnowledgeError(FAQ_FILE, "is missing", field="helpdesk")
    helpdesk = Helpdesk(
        name=desk.text("name"), phone=desk.text("phone", _PHONE), email=desk.text("email", _EMAIL)
    )
    source = directory / faq.text("source")
    if not source.is_file():
        raise KnowledgeError(FAQ_FILE, f"{source.name} is not in {directory}", field="source")
    source_title = faq.text("source_title")
    faq.check_fields()
    messages = _messages(MESSAGES_FILE, _read_yaml(directory / MESSAGES_FILE), {e.id for e in entries})
    return KnowledgeBase(
        entries, out_of_scope, synonyms, anchors, background, helpdesk, messages, source, source_title
    )


def review_due(entries: Iterable[Entry], today: date, months: int) -> tuple[Entry, ...]:
    """The entries not reviewed within `months` months before `today`, longest unreviewed first."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    if year < 1:
        return ()  # a cutoff before the calendar begins: nothing is older
    month += 1
    cutoff = date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    due = [e for e in entries if date.fromisoformat(e.last_reviewed) < cutoff]
    return tuple(sorted(due, key=lambda e: e.last_reviewed))
