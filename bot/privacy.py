"""Find what a chat message should not carry: passwords, residents' details, contact details."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import islice, pairwise

import nhs_number
import phonenumbers

__all__ = [
    "KINDS",
    "MAX_SCAN_CHARS",
    "PATTERNS",
    "Finding",
    "find",
    "notices",
    "warnings_for",
]

# The engine reads no further than this (MAX_MESSAGE_CHARS), and every pattern below runs on at most this.
MAX_SCAN_CHARS = 4000
KINDS = ("password", "nhs_number", "date_of_birth", "postcode", "phone", "email", "person")
# where two findings overlap, the union is masked and named after the earlier kind here
_PRIORITY = {kind: n for n, kind in enumerate(("password", "nhs_number", "email", *KINDS[2:5], "person"))}
# which sentence of messages.yaml's `warnings` each kind calls for
_NOTICE = {
    "password": "password",
    "nhs_number": "resident",
    "date_of_birth": "resident",
    "postcode": "resident",
    "person": "resident",
    "phone": "contact",
    "email": "contact",
}
# someone's own phone number or email, given when asking about registration, is fine in a private chat
_CONTACT_KINDS = frozenset({"phone", "email"})
# phone numbers a person can have; 03, 08 and 09 numbers belong to organisations (the helpdesk's 0333 ...)
_PERSONAL_PHONES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PAGER,
    }
)
_MAX_PHONES = 12  # phonenumbers takes about a millisecond a number: a message of numbers must not cost more
_PHONE_TRIES = 20
_MAX_SECRET_WORDS = 6


@dataclass(frozen=True, slots=True)
class Finding:
    """Something sensitive in a message: its kind (one of KINDS) and where it is, as text[start:end]."""

    kind: str
    start: int
    end: int

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


# The patterns. Each is linear on its worst input (tests/test_privacy.py times them on 200 kB): every
# repeat is bounded or possessive, and a pattern that could start anywhere in a long run of the same
# characters starts only at the run's beginning (a look-behind). Most open with a look-ahead for their
# first character, which lets the regex engine skip quickly over text that cannot start a match.

_PW_KEYWORD = (
    r"(?:pass(?:word|wd|code|phrase|key)?s?|pwd|pw|pin(?:\s?(?:code|number|no))?|log-?in(?:\s?details)?"
    r"|sign-?in)\b"
)
PASSWORD_WORD = re.compile(rf"(?i)(?=[pls])(?<![\w-]){_PW_KEYWORD}")
# what links the keyword to the password: "password is", "pw:", "password's", "changed it to"
PASSWORD_VERB = re.compile(
    r"(?i)(?=['’=:\-iwatr])(?:['’]s\b|[=:]|-(?!\w)|(?<!\S)(?:is|was|are|were|to|as|reads)\b)\s{0,3}"
)
# after these the next words are the password, whatever they look like (unless they say how it is:
# "is wrong"); after "to", "as" or a dash only a token that looks generated is ("password to log in",
# "password - how many characters")
_STRONG_VERBS = frozenset({"'s", "’s", "=", ":", "is", "was", "are", "were", "reads"})
# "the password for the shared mailbox is ...", "the password they sent me was ...": a few words between
# the keyword and the verb, starting with a preposition or a pronoun, in the same clause
_BRIDGE_WORDS = frozenset(
    "for to of on at in into from with that i we you they he she my our the this which".split()
)
_BRIDGE_CHARS = 60
_VERBS_TRIED = 3
_SECRET_CHARS = 200
# "passcode 4821", "pin: 1234": a PIN needs no verb
PIN = re.compile(
    r"(?i)(?=[pl])(?<![\w-])(?:pass\s?code|pin(?:\s?(?:code|number|no))?|pwd|pw)\s{0,3}[:=]?\s{0,3}"
    r"(?P<pin>[0-9]{4,8})(?![0-9])"
)
# a whole token of 8 to 64 characters with a digit: perhaps a generated password
TOKEN = re.compile(r"(?=\S)(?<!\S)(?=\S{0,63}?[0-9])\S{8,64}+(?!\S)")
NHS_NUMBER = re.compile(r"(?=[0-9])(?<![0-9])[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}(?![0-9])")
# months are checked in code (_MONTHS), which keeps these patterns small and fast
DATE = re.compile(
    r"(?=[0-9])(?<![0-9/.-])(?:(?P<d>[0-9]{1,2}+)(?P<sep>[/.-])(?P<m>[0-9]{1,2}+)(?P=sep)(?P<y>[0-9]{2}(?:[0-9]{2})?+)"
    r"|(?P<iy>(?:19|20)[0-9]{2})-(?P<im>[0-9]{2})-(?P<id>[0-9]{2}))(?![0-9])"
)
DAY_MONTH_DATE = re.compile(
    r"(?i)(?=[0-9])(?<![0-9/.-])(?P<td>[0-9]{1,2}+)(?:st|nd|rd|th)?+\s{1,3}+(?:of\s{1,3}+)?+(?P<tm>[a-z]{3,9}+)"
    r"\.?+,?+\s{1,3}+(?P<ty>['’]?[0-9]{2}(?:[0-9]{2})?+)(?![0-9])"
)
MONTH_FIRST_DATE = re.compile(
    r"(?i)(?=[a-z])(?<![a-z])(?P<mm>[a-z]{3,9}+)\.?+\s{1,3}+(?P<md>[0-9]{1,2}+)(?:st|nd|rd|th)?+,?+\s{1,3}+"
    r"(?P<my>(?:19|20)[0-9]{2})(?![0-9])"
)
BIRTH_CUE = re.compile(
    r"(?i)(?=[db])\b(?:d\.?\s?o\.?\s?b\b\.?|date\s{1,3}of\s{1,3}birth|birth\s?(?:date|day)|born(?:\s{1,3}on)?)"
)
AGE_CUE = re.compile(
    r"(?i)(?=[a0-9])\b(?:aged?\s{0,3}:?\s{0,3}[0-9]{1,3}+|[0-9]{1,3}+\s{0,3}(?:yrs?|years?)\s{0,3}old"
    r"|[0-9]{1,3}+\s?y/?o)\b"
)
_BIRTH_CUE_BEFORE = 40  # "DOB: 12/03/1945", "born on the 12th March 1945"
_AGE_CUE_AFTER = 30  # "12/03/1945 (aged 79)"
# the postcode area (letters) is checked in code (_POSTCODE_AREAS)
POSTCODE = re.compile(
    r"(?i)(?=[a-z])(?<![a-z0-9])(?P<area>[a-z]{1,2})[0-9][a-z0-9]?\s{0,2}[0-9][abd-hjlnp-uw-z]{2}(?![a-z0-9])"
)
# UK mobiles as commonly written: phonenumbers reads "07911 123456 07911 654321" as one long candidate
MOBILE = re.compile(r"(?=[0+])(?<![0-9+])(?:\+44\s?7|07)[0-9]{3}\s?[0-9]{3}\s?[0-9]{3}(?![0-9])")
_DIGIT = re.compile(r"\d")  # any digit: phonenumbers reads full-width ones too
EMAIL = re.compile(r"(?a)(?=[\w.+-])(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++")
_TITLE = r"(?:Mrs|Mr|Ms|Mx|Miss|Dr|MRS|MR|MS|DR)\.?"
_NAME = r"(?:[A-Z][a-z]++|[A-Z]['’][A-Z][a-z]++)(?:[A-Z][a-z]++)?(?:-[A-Z][a-z]++)?\b"
_ROLE = r"(?i:resident|patient|client|service[\s-]?user|tenant|lady|gentleman|gent|next\s{1,3}of\s{1,3}kin)"
TITLED_NAME = re.compile(rf"(?=[MD])(?<![\w'’]){_TITLE}\s{{1,3}}(?P<name>{_NAME}(?:\s{{1,3}}{_NAME})?)")
ROLE_NAME = re.compile(
    rf"(?=[RrPpCcSsTtLlGgNn])(?<![\w'’]){_ROLE}s?\s{{0,3}}(?:(?i:called|named|is|was)\s{{1,3}}|[:,-]\s{{0,3}})?"
    rf"(?P<title>{_TITLE}\s{{1,3}})?(?P<name>{_NAME}(?:\s{{1,3}}{_NAME})?)"
)
# "Mrs Adeyemi in room 4", "John from room 12": the room is found first, then the name just before it
ROOM = re.compile(r"(?i)(?=[ifo])\b(?:in|from|of)\s{1,3}(?:room|rm|bed|flat|bedroom)\s{0,3}[0-9]{1,4}\b")
NAME_BEFORE = re.compile(rf"(?P<name>{_NAME}(?:\s{{1,3}}{_NAME})?)\s{{1,3}}\Z")
_NAME_CHARS = 60
# every pattern run on user text, for the worst-case timing test
PATTERNS: Mapping[str, re.Pattern[str]] = {
    "password_word": PASSWORD_WORD,
    "password_verb": PASSWORD_VERB,
    "pin": PIN,
    "token": TOKEN,
    "nhs_number": NHS_NUMBER,
    "date": DATE,
    "day_month_date": DAY_MONTH_DATE,
    "month_first_date": MONTH_FIRST_DATE,
    "birth_cue": BIRTH_CUE,
    "age_cue": AGE_CUE,
    "postcode": POSTCODE,
    "mobile": MOBILE,
    "email": EMAIL,
    "titled_name": TITLED_NAME,
    "role_name": ROLE_NAME,
    "room": ROOM,
    "name_before": NAME_BEFORE,
}
_POSTCODE_AREAS = frozenset(
    """AB AL BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY EC EH
    EN EX FK FY GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY LA LD LE LL LN LS LU ME
    MK ML NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM SA SE SG SK SL SM SN SO SP SR SS ST SW
    SY TA TD TF TN TQ TR TS TW UB WA WC WD WF WN WR WS WV YO ZE B E G L M N S W""".split()
)
_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}

# "my password is wrong", "the password was sent to my phone": what follows the verb is not the password
_NOT_SECRETS = frozenset(
    """not no never wrong incorrect invalid expired expiring locked blocked correct right fine ok okay good
    bad working broken reset sent changed required needed missing lost forgotten rejected accepted
    case too very so still now being been the a an my your our their his her its it that this same
    different new old weak strong short long temporary temp due about going meant supposed in on at
    for from with of to also always just only definitely probably what which how where when why who
    there here sensitive valid unknown blank empty and or but if is was be one ones mine yours set
    given texted emailed same wrong? what? please help i me we you they he she them us wont won't
    doesnt doesn't isnt isn't cant can't coming asking saying showing failing saved stored stuck
    greyed case-sensitive different? ok? enough required? needed? up down off out ever really
    actually apparently supposedly can could would will should did do does has have had need needs
    keep keeps anyone someone any anymore more""".split()
)
# a passphrase goes on until one of these (or a full stop): "... is sunshine but it says wrong"
_SECRET_STOPS = frozenset(
    """and but so because can could please it i is was when which that what how why then though although or
    any anyone help still yet however if i'm im it's its won't wont doesn't doesnt isn't isnt and,
    thanks thank cheers my password pw pwd login username yesterday today earlier""".split()
)
# capitalised words that are not names: sentence openers, pronouns, staff roles, software
_NOT_NAMES = frozenset(
    """I We You They He She It This That These Those The A An My Our Your His Her Their Its Can Could Would
    Should Will Please Hi Hello Hey Thanks Thank Yes No Not Is Was Has Had Have How What When Where
    Why Who Which And But Or So Then Also Just Still Someone Somebody Everyone Everybody Nobody
    Anyone Staff Carer Carers Nurse Nurses Manager Managers Admin Team Office Outlook Teams Windows
    Android Apple Google Microsoft Gmail Chrome Edge Safari Firefox Excel Word Zoom Skype Email Mail
    Portal Account Password Room Bed Flat Today Tomorrow Yesterday Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September October
    November December Dear Sir Madam Unit Floor Wing Home House Lodge Court""".split()
)
_SOFTWARE_NAME = re.compile(r"(?:[A-Z]?[a-z]+|i[A-Z][a-z]+|[A-Z][a-z]+[A-Z][a-z]+)[0-9]{1,3}")
_SPECIAL = frozenset('!"#$%&*+<>?@[\\]^`{|}~£€¬=;')
_STRIP_LEAD = "([{\"'‘“<"
_STRIP_TRAIL = ".,;:?)]}\"'’”>"
_SENTENCE_END = ".?;"


def find(text: str) -> tuple[Finding, ...]:
    """Everything sensitive in the first MAX_SCAN_CHARS characters of `text`, in order, none overlapping."""
    text = text[:MAX_SCAN_CHARS]
    # most messages have no digit, no "@" and no capital letter: the patterns that need one are not run
    digits = _DIGIT.search(text) is not None
    found = _passwords(text, digits)
    if digits:
        found += [*_nhs_numbers(text), *_dates_of_birth(text), *_postcodes(text), *_phones(text)]
    if "@" in text:
        found += _emails(text)
    if not text.islower():
        found += _people(text)
    emails = [f for f in found if f.kind == "email"]
    # "my login is jo.bloggs@nhs.net": the address is an email, not a password
    found = [f for f in found if f.kind != "password" or not any(_within(f, e) for e in emails)]
    return _merge(found)


def warnings_for(findings: Iterable[Finding], shared: bool) -> tuple[str, ...]:
    """The kinds to warn the sender about, in KINDS order. Someone's own phone number or email is
    no concern in a private chat, the console or `ask`; in a shared channel everything is."""
    kinds = {f.kind for f in findings}
    return tuple(k for k in KINDS if k in kinds and (shared or k not in _CONTACT_KINDS))


def notices(kinds: Iterable[str], texts: Mapping[str, str]) -> tuple[str, ...]:
    """The sentences to say for warned kinds (`texts`: messages.yaml's `warnings`), each once, in order."""
    said: dict[str, str] = {}
    for kind in sorted(set(kinds), key=KINDS.index):
        notice = _NOTICE[kind]
        said.setdefault(notice, texts[notice])
    return tuple(said.values())


def _passwords(text: str, digits: bool) -> list[Finding]:
    found = []
    for keyword in PASSWORD_WORD.finditer(text):
        span = _password_after(text, keyword.end())
        if span:
            found.append(Finding("password", *span))
    if not digits:  # a PIN is digits, and a generated password has one
        return found
    found += [Finding("password", m.start("pin"), m.end("pin")) for m in PIN.finditer(text)]
    for token in TOKEN.finditer(text):
        start, end = _strip(text, *token.span())
        if _looks_generated(text[start:end]):
            found.append(Finding("password", start, end))
    return found


def _password_after(text: str, pos: int) -> tuple[int, int] | None:
    """The password after a keyword: tries the first few verbs that follow it in the same clause."""
    end = min(len(text), pos + _BRIDGE_CHARS)
    for verb in islice(PASSWORD_VERB.finditer(text, pos, end), _VERBS_TRIED):
        if verb.group()[0] in "'’" and verb.start() != pos:
            continue  # "the password for our home's inbox": a possessive, not "password's"
        bridge = text[pos : verb.start()].split()
        if any(c in ".,;!?" for c in text[pos : verb.start()]) or (
            bridge and bridge[0].lower() not in _BRIDGE_WORDS
        ):
            return None
        strong = verb.group().strip().lower() in _STRONG_VERBS
        span = _secret_after(text, verb.end(), strong)
        if span:
            return span
    return None


def _secret_after(text: str, pos: int, strong: bool) -> tuple[int, int] | None:
    """The password after "password is": one token, or a passphrase of a few words up to a stop word.
    After a weak cue ("password to ...") only a token that looks generated, or a PIN, counts."""
    window = text[pos : pos + _SECRET_CHARS]
    start = end = -1
    words: list[str] = []
    at = 0
    for n, token in enumerate(window.split()):
        t_start = window.find(token, at)
        if n and t_start - at > 3:
            break
        at = t_start + len(token)
        t_start, t_end = _strip(window, t_start, at)
        word = window[t_start:t_end]
        lowered = word.lower()
        if n == 0:
            if not word or (not strong and not _looks_generated(word) and not _is_pin(word)):
                return None
            start = t_start
        elif not strong or not word or lowered in _SECRET_STOPS or n >= _MAX_SECRET_WORDS:
            break
        end = t_end
        words.append(lowered)
        if t_end < at and window[t_end] in _SENTENCE_END:
            break
    if not words or (_ordinary(words[0]) and (len(words) < 3 or any(map(_ordinary, words[1:])))):
        return (
            None  # "is wrong", "is not working", "is being rejected"; not "is correct horse battery staple"
        )
    return pos + start, pos + end


def _ordinary(word: str) -> bool:
    """A word that says how a password is, not what it is: "wrong", "expired", "being", "apparently"."""
    return word in _NOT_SECRETS or (word.isalpha() and word.endswith(("ed", "ing", "ly")))


def _is_pin(word: str) -> bool:
    return word.isdigit() and 4 <= len(word) <= 8


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _STRIP_LEAD:
        start += 1
    while end > start and text[end - 1] in _STRIP_TRAIL:
        end -= 1
    return start, end


def _looks_generated(token: str) -> bool:
    """A token mixing letters, digits and symbols as generated or rule-following passwords do.
    Version numbers, emails, web addresses, ticket references and "Windows10" are not."""
    if not 8 <= len(token) <= 64 or "@" in token or "://" in token or token.lower().startswith("www."):
        return False
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    if not (has_digit and has_alpha):
        return False
    if any(c in _SPECIAL for c in token):
        return True
    if any(c.isupper() for c in token) and any(c.islower() for c in token):
        return not _SOFTWARE_NAME.fullmatch(token)
    switches = sum(1 for a, b in pairwise(token) if a.isdigit() != b.isdigit())
    return switches >= 3  # "k3v8p2m9": digits scattered through letters


def _nhs_numbers(text: str) -> list[Finding]:
    return [
        Finding("nhs_number", m.start(), m.end())
        for m in NHS_NUMBER.finditer(text)
        if _is_nhs_number(m.group().replace(" ", "").replace("-", ""))
    ]


def _is_nhs_number(digits: str) -> bool:
    """Valid under modulus 11 and in a range that is issued: England, Wales and the Isle of Man, or
    Northern Ireland's H&C numbers. Test (999...) and unissued ranges do not count."""
    return any(
        nhs_number.is_valid(digits, for_region=region)
        for region in (nhs_number.REGION_ENGLAND_WALES_IOM, nhs_number.REGION_NORTHERN_IRELAND)
    )


def _dates_of_birth(text: str) -> list[Finding]:
    """A date is a date of birth when a birth cue comes just before it or an age just after it;
    "the email came on 12/03/2024" is just a date."""
    birth_ends = [m.end() for m in BIRTH_CUE.finditer(text)]
    age_starts = [m.start() for m in AGE_CUE.finditer(text)]
    if not (birth_ends or age_starts):
        return []
    found = []
    for m in (m for pattern in (DATE, DAY_MONTH_DATE, MONTH_FIRST_DATE) for m in _dates(pattern, text)):
        i = bisect.bisect_right(birth_ends, m.start())
        cue_before = i > 0 and m.start() - birth_ends[i - 1] <= _BIRTH_CUE_BEFORE
        j = bisect.bisect_left(age_starts, m.end())
        age_after = j < len(age_starts) and age_starts[j] - m.end() <= _AGE_CUE_AFTER
        if cue_before or age_after:
            found.append(Finding("date_of_birth", m.start(), m.end()))
    return found


def _dates(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The real dates `pattern` finds. A candidate that is no date ("room 1 DOB 19" read as day 1 of a month
    "DOB") is passed over by one character, not by its length, so the date inside it is still seen."""
    position = 0
    while (m := pattern.search(text, position)) is not None:
        if _is_date(m):
            yield m
            position = m.end()
        else:
            position = m.start() + 1


def _is_date(m: re.Match[str]) -> bool:
    found = m.groupdict()
    if found.get("mm"):
        day, month, year = found["md"], _MONTHS.get(found["mm"].lower(), 0), found["my"]
    elif found.get("tm"):
        day, month, year = found["td"], _MONTHS.get(found["tm"].lower(), 0), found["ty"].lstrip("'’")
    elif found.get("m"):
        day, month, year = found["d"], found["m"], found["y"]
    else:
        day, month, year = found["id"], found["im"], found["iy"]
    try:
        date(int(year) if len(year) == 4 else 1900 + int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _postcodes(text: str) -> list[Finding]:
    # all capitals or all small letters: "SW1A 1AA", "sw1a 1aa"; a mix is rarely a postcode
    return [
        Finding("postcode", m.start(), m.end())
        for m in POSTCODE.finditer(text)
        if m.group("area").upper() in _POSTCODE_AREAS and (m.group().isupper() or m.group().islower())
    ]


def _phones(text: str) -> list[Finding]:
    if sum(map(str.isdigit, text)) < 7:
        return []  # no phone number is shorter, and most messages have none: skip the library
    # POSSIBLE, not VALID: a number mistyped by a digit, or from a range not yet allocated, is still private
    matcher = phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=_PHONE_TRIES
    )
    found = [Finding("phone", m.start, m.end) for m in islice(matcher, _MAX_PHONES) if _is_personal_phone(m)]
    return found + [Finding("phone", m.start(), m.end()) for m in MOBILE.finditer(text)]


def _is_personal_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """Written as people write a UK number (0..., +44...), and a mobile or landline: not an
    organisation's 03, 08 or 09 number, nor ten digits that merely could be dialled (an NHS number)."""
    if not match.raw_string.lstrip("(").startswith(("0", "+44", "0044")):
        return False
    kind = phonenumbers.number_type(match.number)
    if kind in _PERSONAL_PHONES:
        return True
    national = phonenumbers.national_significant_number(match.number)
    return kind == phonenumbers.PhoneNumberType.UNKNOWN and national[:1] in "127" and len(national) in (9, 10)


def _emails(text: str) -> list[Finding]:
    return [Finding("email", m.start(), m.end()) for m in EMAIL.finditer(text)]


def _people(text: str) -> list[Finding]:
    found = []
    for pattern in (TITLED_NAME, ROLE_NAME):
        for m in pattern.finditer(text):
            if m.group("name").split()[0] in _NOT_NAMES:
                continue
            # "Mrs Adeyemi" goes whole; "resident John Smith" keeps the word that says who they are
            start = m.start("title") if pattern is ROLE_NAME and m.group("title") else m.start("name")
            found.append(Finding("person", m.start() if pattern is TITLED_NAME else start, m.end("name")))
    for room in ROOM.finditer(text):
        before = max(0, room.start() - _NAME_CHARS)
        m = NAME_BEFORE.search(text, before, room.start())
        if m and m.group("name").split()[0] not in _NOT_NAMES:
            found.append(Finding("person", m.start("name"), m.end("name")))
    return found


def _within(inner: Finding, outer: Finding) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _merge(found: list[Finding]) -> tuple[Finding, ...]:
    """Overlapping findings become one covering both, named after the more serious kind, so that
    masking never leaves part of a secret showing."""
    merged: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, f.kind, key=_PRIORITY.__getitem__)
            merged[-1] = Finding(kind, last.start, max(last.end, f.end))
        else:
            merged.append(f)
    return tuple(merged)
