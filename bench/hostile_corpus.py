"""The hostile bench's seeded messages, their planted secrets, and the scan that finds those secrets again."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import nhs_number

# what the bot must never show back: a live mention, a broadcast, a channel link, the attacker's host, an
# unescaped Adaptive Card template expression, markup that runs
MARKERS = ("<@U0EVIL>", "<!here>", "<!channel>", "<!everyone>", "<#C0EVIL", "evil.example", "${", "<script")
KINDS = ("password", "nhs_number", "date_of_birth", "postcode", "person")
# each platform's own limit for a message's text; the CLI has none, so it gets Slack's
LIMITS = {"cli": 40_000, "slack": 40_000, "teams": 28 * 1024}
# questions the bot knows, so some hostile messages still reach an answer (and the store's answered path)
QUESTIONS = (
    "I've forgotten my password",
    "how do I reset my NHSmail password",
    "my account is locked",
    "the text with my activation password never came",
    "how do I register my care home",
    "what is the helpdesk phone number",
    "can I share a mailbox",
    "what's the weather like",
)
MARKUP = (
    "<@U0EVIL>",
    "<@U0EVIL|boss>",
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!subteam^S0EVIL>",
    "<#C0EVIL|general>",
    "<http://evil.example|click>",
    "<https://evil.example/login?next=%2F&x=1>",
    "<mailto:a@evil.example|mail me>",
    "<at>Evil</at>",
    "<at>NHSmail Bot</at>",
    "http://evil.example/reset",
)
MARKDOWN = (
    "[click here](http://evil.example/a)",
    "![tracker](http://evil.example/pixel.png)",
    "[x]: http://evil.example",
    "**bold** _it_ ~strike~ `code` *star*",
    "```\nblock\n```",
    "> quoted",
    "# heading",
    "| a | b |\n|---|---|",
)
TEMPLATES = ("${user.password}", "${if(true, 'a', 'b')}", "${$root.title}", "{{7*7}}", "$root", "${", "$data")
HTML = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='http://evil.example'></iframe>",
    "<b>bold</b>",
    "<!-- hidden -->",
    "&lt;b&gt;",
    "&#x3C;script&#x3E;",
    "&amp;&quot;&#39;",
    "<svg onload=alert(1)>",
)
ANSI = ("\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\x1b[2J\x1b[H", "\x1b[1A\x1b[K", "\x9b31m")
NEWLINES = ("\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")
BIDI = ("\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e")
EMOJI = ("😀", "👩🏽‍⚕️", "🏳️‍🌈", "🇬🇧", "🔥" * 20, "e\u0301\u0302\u0303\u0304", "\U0001f9d1\u200d\U0001f4bb")
SURROGATES = ("\ud800", "\udfff", "\udbff", "\udc00x\ud83d")
# shapes that make a careless regex backtrack, repeated n times
REPEATED = (
    "<at",
    "<at ",
    "password is ",
    "my password is ",
    "1",
    "9 ",
    "123 456 ",
    " ",
    "<",
    "<@",
    "<!",
    "<http://",
    "<a|",
    "${",
    "DOB ",
    "resident ",
    "Mrs ",
    "a",
    "\t",
    "0-",
)
# real postcode areas, so a detector that knows them finds these
AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH "
    "EN EX FK FY G GL GU HA HD HG HP HR HS HU HX IG IP IV KA KT KW KY L LA LD LE LL LN LS LU M ME MK "
    "ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW "
    "SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO"
).split()
FIRST_NAMES = (
    "Mary Margaret Joan Dorothy Betty Jean Patricia Eileen John William George Arthur Albert Harold".split()
)
SYLLABLES = (
    "bar ken dal mor ves tin qua rol fen wick ash lan dro pel sor gat hun mil zen cor bel tam rix nor".split()
)
MONTHS = "January February March April May June July August September October November December".split()


@dataclass
class Message:
    """One hostile message: its text, what went into it, and the secrets planted in it (kind -> value)."""

    index: int
    text: str
    shapes: list[str]
    secrets: dict[str, str] = field(default_factory=dict)


class Secrets:
    """Secret values drawn so that no two messages in a run share one (the scan attributes by value)."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        random.seed(rng.random())  # nhs_number draws from the global generator: seeded from ours
        self.nhs = [
            n
            for n in dict.fromkeys(
                nhs_number.generate(for_region=nhs_number.REGION_ENGLAND, quantity=count * 2)
            )
        ]
        self.used: set[str] = set()

    def _unique(self, kind: str, draw: Callable[[], str]) -> str:
        value = draw()
        for _ in range(50):
            if canonical(kind, value) not in self.used:
                break
            value = draw()
        self.used.add(canonical(kind, value))
        return value

    def password(self) -> str:
        def draw() -> str:
            r = self.rng
            chars = [
                r.choice(string.ascii_uppercase),
                r.choice(string.ascii_lowercase),
                r.choice(string.digits),
            ]
            chars += r.choices(string.ascii_letters + string.digits + "!#%*", k=9)
            r.shuffle(chars)
            return "".join(chars)

        return self._unique("password", draw)

    def nhs_number(self) -> str:
        digits = self.nhs.pop()
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if self.rng.random() < 0.5 else digits

    def date_of_birth(self) -> str:
        def draw() -> str:
            year, month, day = self.rng.randint(1920, 1985), self.rng.randint(1, 12), self.rng.randint(1, 28)
            return self.rng.choice(
                (
                    f"{day:02d}/{month:02d}/{year}",
                    f"{day}.{month}.{year}",
                    f"{day} {MONTHS[month - 1]} {year}",
                )
            )

        return self._unique("date_of_birth", draw)

    def postcode(self) -> str:
        def draw() -> str:
            r = self.rng
            inward = f"{r.randint(0, 9)}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            return f"{r.choice(AREAS)}{r.randint(1, 19)} {inward}"

        return self._unique("postcode", draw)

    def person(self) -> str:
        def draw() -> str:
            surname = "".join(self.rng.choices(SYLLABLES, k=4)).capitalize()
            return f"{self.rng.choice(FIRST_NAMES)} {surname}"

        return self._unique("person", draw)


def planted(kind: str, value: str) -> str:
    """The phrase a secret is planted in, as staff write it."""
    return {
        "password": f"my password is {value}",
        "nhs_number": f"NHS number {value}",
        "date_of_birth": f"DOB {value}",
        "postcode": f"she lives at {value}",
        "person": f"resident {value}",
    }[kind]


def _fragment(rng: random.Random, platform: str, transport_surrogates: bool) -> tuple[str, str]:
    """One hostile piece of a message and the name of its shape."""
    shape = rng.choice(
        (
            "markup",
            "markup",
            "markdown",
            "template",
            "html",
            "control",
            "ansi",
            "newline",
            "bidi",
            "zero_width",
        )
        + ("emoji", "long_word", "repeated", "repeated", "question", "question")
        + (("surrogate",) if transport_surrogates else ())
    )
    pick: dict[str, Callable[[], str]] = {
        "markup": lambda: rng.choice(MARKUP),
        "markdown": lambda: rng.choice(MARKDOWN),
        "template": lambda: rng.choice(TEMPLATES),
        "html": lambda: rng.choice(HTML),
        "control": lambda: "".join(chr(rng.choice([*range(0, 32), 127, *range(128, 160)])) for _ in range(4)),
        "ansi": lambda: rng.choice(ANSI),
        "newline": lambda: rng.choice(NEWLINES) * rng.randint(1, 5),
        "bidi": lambda: rng.choice(BIDI) + "txet desrever" + rng.choice(BIDI),
        "zero_width": lambda: rng.choice(ZERO_WIDTH).join("password"),
        "emoji": lambda: rng.choice(EMOJI),
        "long_word": lambda: "".join(rng.choices(string.ascii_lowercase, k=rng.randint(500, 5000))),
        "repeated": lambda: rng.choice(REPEATED) * rng.randint(10, 2000),
        "question": lambda: rng.choice(QUESTIONS),
        "surrogate": lambda: rng.choice(SURROGATES),
    }
    return pick[shape](), shape


def corpus(seed: int, platform: str, count: int, surrogates: bool) -> list[Message]:
    """`count` messages for one platform, the same for the same seed. `surrogates`: the transport carries
    lone surrogates (JSON escapes)."""
    rng = random.Random(f"{seed}:{platform}")
    secrets = Secrets(rng, count)
    limit = LIMITS[platform]
    messages = []
    for index in range(count):
        pieces = [_fragment(rng, platform, surrogates) for _ in range(rng.randint(1, 6))]
        shapes = [shape for _, shape in pieces]
        texts = [text for text, _ in pieces]
        message = Message(index, "", shapes)
        if rng.random() < 0.6:
            for kind in rng.sample(KINDS, rng.randint(1, len(KINDS))):
                message.secrets[kind] = getattr(secrets, kind)()
                # spaced from its neighbours, so a secret is a word of its own, as typed
                texts.insert(rng.randint(0, len(texts)), f" {planted(kind, message.secrets[kind])} ")
        if rng.random() < 0.02:  # up to the platform's limit, the secrets near the start
            shapes.append("huge")
            filler = rng.choice(("a", "<at", "password is ", "word ", "1", " ", "${x}", "<@U0EVIL>"))
            texts.append(filler * (limit // len(filler)))
        text = rng.choice((" ", " ", "\n", "", "\t")).join(texts)
        message.text = text[:limit]
        # a secret cut off with the end of a long message was never sent
        message.secrets = {k: v for k, v in message.secrets.items() if planted(k, v) in message.text}
        messages.append(message)
    return messages


def canonical(kind: str, value: str) -> str:
    """A secret as the scan finds it: NHS numbers and postcodes without spaces, dates as d-m-yyyy,
    people by surname."""
    if kind in ("nhs_number", "postcode"):
        return value.replace(" ", "")
    if kind == "date_of_birth":
        return _date(value) or value
    if kind == "person":  # the made-up surname alone is enough to identify someone
        return value.split()[-1]
    return value


_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?!\d)")
_DATE_WORDS = re.compile(r"(?<!\d)(\d{1,2}) (" + "|".join(MONTHS) + r") (\d{4})(?!\d)")


def _date(text: str) -> str | None:
    match = _DATE_NUMERIC.fullmatch(text) or _DATE_WORDS.fullmatch(text)
    if not match:
        return None
    day, month, year = match.groups()
    month = str(MONTHS.index(month) + 1) if month in MONTHS else month
    return f"{int(day)}-{int(month)}-{year}"


def found_secrets(haystack: str, wanted: set[str]) -> set[str]:
    """The canonical secrets from `wanted` that occur in `haystack`, in any of the forms they were planted in
    (NHS numbers spaced or not, dates in any planted format), each found by its shape then looked up: a
    literal search for tens of thousands of values would take too long on a large log."""
    found: set[str] = set()
    # passwords: every 12-character window of a run of the characters passwords are made of
    for run in re.findall(r"[A-Za-z0-9!#%*]{12,}", haystack):
        found.update(run[i : i + 12] for i in range(len(run) - 11) if run[i : i + 12] in wanted)
    # NHS numbers: digits with single spaces between them squeezed out, every ten-digit window
    for run in re.findall(r"\d(?:[ ]?\d){9,}", haystack):
        digits = run.replace(" ", "")
        found.update(digits[i : i + 10] for i in range(len(digits) - 9) if digits[i : i + 10] in wanted)
    for pattern in (_DATE_NUMERIC, _DATE_WORDS):
        for match in pattern.finditer(haystack):
            date = _date(match.group(0))
            if date in wanted:
                found.add(date)
    for match in re.finditer(r"(?<![A-Z])[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}(?![A-Z])", haystack):
        if (code := match.group(0).replace(" ", "")) in wanted:
            found.add(code)
    # people, by surname: made of syllables, so found at the start of a capitalised word
    lengths = {len(value) for value in wanted if value.isalpha()}
    for word in re.findall(r"[A-Z][a-z]{5,}", haystack):
        found.update(word[:n] for n in lengths if word[:n] in wanted)
    return found


def secret_index(messages: Iterable[Message]) -> dict[str, tuple[int, str]]:
    """canonical secret -> (message index, kind)."""
    return {canonical(kind, value): (m.index, kind) for m in messages for kind, value in m.secrets.items()}
