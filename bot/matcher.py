"""Normalise, index, rank: pure and synchronous. Words become terms; topics are ranked by shared terms."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import NamedTuple, TypeVar

import numpy as np
import Stemmer
from english_words import get_english_words_set

from bot.knowledge import KnowledgeBase
from bot.semantic import Semantic

# Words that carry no meaning for routing. Negations are deliberately absent: "haven't had the text"
# and "had the text" differ, so "not" is kept as a term of its own.
STOPWORDS = frozenset(
    """
    a an the and or but if so of to in on at by for from with about as into onto over under up down out
    off is are was were be been being am do does did doing done have has had having get gets got i me my
    mine myself we us our you your yours he she him her his they them their it its this that these those
    there here whom whose how can could would should will shall may might must just also too very really
    please pls plz thanks thank hi hello hey hiya morning afternoon evening dear team bot anyone someone
    somebody everyone all any some one ones ok okay yes yeah oh ah um erm hmm lol im ive id ill dont
    cant wont isnt arent doesnt didnt havent hasnt wasnt werent couldnt shouldnt wouldnt re ve ll d s t
    m u ur
    """.split()
)
# chat and text-speak spellings of everyday words, as staff type them on a phone
_TEXTSPEAK = dict(
    pair.split("=")
    for pair in """
    4=for 2=to r=are n=and y=why wot=what wat=what wats=what whats=what wiv=with b4=before abt=about
    cos=because coz=because bc=because ppl=people msg=message num=number tmrw=tomorrow thru=through
    cud=could wud=would shud=should hav=have av=have dnt=dont cnt=cant sumone=someone some1=someone
    any1=anyone ne1=anyone wen=when wer=where
    """.split()
)
NEGATIONS = frozenset({"not", "no", "never", "cannot", "unable", "nor", "without"})

_MENTION = re.compile(r"<at>.*?</at>|<[@#!][^>]*>|(?<!\w)@[\w.-]+(?:\s+bot\b)?", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"<?https?://\S+|www\.\S+", re.IGNORECASE)
# "can't" and "cant" -> "can not", "won't" -> "will not", "isn't" and "isnt" -> "is not", "I've" -> "I":
# staff often type negations without the apostrophe, and "haven't had the text" is not "had the text"
_CONTRACTION = re.compile(  # the look-ahead for a first letter lets the regex engine skip the rest quickly
    r"(?=[cwsn’'hdiam])(?:\b(can|won|shan)[’']?t\b|(n)[’']t\b|[’'](?:ve|ll|re|d|m|s)\b"
    r"|\b(have|has|had|do|does|did|is|are|was|were|could|should|would|must|need|ai)nt\b)"
)
_NEGATED = {"can": "can not", "won": "will not", "shan": "shall not", "n": " not"}
_WORD = re.compile(r"[a-z0-9]+")


def _expand(contraction: re.Match[str]) -> str:
    negated, apostrophe_n, bare = contraction.group(1, 2, 3)
    if bare:
        return f"{bare} not"
    return _NEGATED.get(negated or apostrophe_n or "", "")


# Typos are corrected towards the knowledge base's own words only; longer words may be further off.
MIN_CORRECTABLE = 4
LONG_WORD = 7
# a letter spelled out ("n h s"); "i" and "a" are words, and only begin a run another letter shows
_LETTERS = frozenset("bcdefghjklmnopqrstuvwxyz")
# letters as dictation writes their names: "oh dee ess" is ODS, "see queue see" CQC
_LETTER_NAMES = dict(
    pair.split("=")
    for pair in """
    ay=a bee=b see=c sea=c dee=d ee=e ef=f eff=f gee=g aitch=h haitch=h eye=i jay=j kay=k el=l em=m en=n
    oh=o pee=p cue=q queue=q ar=r ess=s tee=t you=u vee=v ex=x why=y zed=z zee=z
    """.split()
)
# a knowledge-base word typed as two ("out look") is joined again from this length
MIN_COMPOUND = 6
# no real word is longer; a longer "word" (a pasted token, a key held down) is not worth the search
MAX_CORRECTABLE = 24


def damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, giving up (returning limit + 1) once it must exceed limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletes(word: str, distance: int) -> set[str]:
    """The word with up to `distance` letters deleted: two words within that edit distance share one."""
    found = {word}
    edge = {word}
    for _ in range(distance):
        edge = {w[:i] + w[i + 1 :] for w in edge for i in range(len(w))}
        found |= edge
    return found


# word caches are bounded: a stream of made-up words must not grow the server's memory without end
MAX_CACHED_WORDS = 50_000
_T = TypeVar("_T")


def _remember(cache: dict[str, _T], word: str, value: _T) -> _T:
    if len(cache) >= MAX_CACHED_WORDS:
        cache.clear()
    cache[word] = value
    return value


class Match(NamedTuple):  # a tuple: rank makes several a message, and a frozen dataclass is slow to build
    topic: str
    score: float
    in_scope: bool
    # the message shows it is about NHSmail: an anchor word, or one of the topic's keywords of several words
    anchored: bool = True
    # for the best topic the FAQ answers, when the sentence model was asked: how likely it is the right answer
    sure: float | None = None


class _Ranked(NamedTuple):
    matches: list[Match]
    ids: list[int]  # the message's terms'
    # the sentence model's closeness of each topic to the message, and to the part of it that asks (when
    # a situation comes first); None where the model was not asked
    meaning: np.ndarray | None = None
    asked: np.ndarray | None = None


class Speller:
    """Corrects a typo towards the knowledge base's own words; a real English word is never a typo."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._english = get_english_words_set(["gcide"], alpha=True, lower=True)
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        for word in vocabulary:
            if len(word) >= MIN_CORRECTABLE and not word.isdigit():
                for d in _deletes(word, 2 if len(word) >= LONG_WORD else 1):
                    self._by_deletion[d].add(word)
        self._corrections: dict[str, str | None] = {}

    def correct(self, word: str) -> str | None:
        """The knowledge base word a typo most likely meant, or None for a word it does not know."""
        if word in self._corrections:
            return self._corrections[word]
        best: str | None = None
        if (
            MIN_CORRECTABLE <= len(word) <= MAX_CORRECTABLE
            and not word.isdigit()
            and word not in self._english
        ):
            limit = 2 if len(word) >= LONG_WORD else 1
            candidates: set[str] = set()
            for d in _deletes(word, limit):
                candidates |= self._by_deletion.get(d, set())
            scored = sorted(
                (damerau(word, c, limit), c[0] != word[0], c)
                for c in candidates
                if abs(len(c) - len(word)) <= limit
            )
            scored = [s for s in scored if s[0] <= limit and (s[0] == 1 or len(s[2]) >= LONG_WORD)]
            if scored and (len(scored) == 1 or scored[0][:2] < scored[1][:2]):
                best = scored[0][2]
        _remember(self._corrections, word, best)
        return best


class Normaliser:
    """Message text to terms: mentions and URLs dropped, contractions opened, words corrected,
    stemmed and folded into the knowledge base's synonym groups."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._last_read: tuple[str, list[str]] = ("", [])
        self._stems: dict[str, str] = {}
        # each word's reading (see `_read`), with and without spelling correction
        self._spelled: dict[str, tuple[str, str | None]] = {}
        self._readings: dict[str, tuple[str, str | None]] = {}
        # synonym phrases, as tuples of stems (so "emials" meets "emial"), to their group's canonical terms
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in kb.synonyms.items():
            words = self.words(canonical)
            target = tuple("not" if w in NEGATIONS else self.stem(w) for w in words if w not in STOPWORDS)
            for variant in (canonical, *variants):
                self._phrases[tuple(map(self.stem, self.words(variant)))] = target
        # a synonym is a spelling the knowledge base knows, even a misspelling: never "correct" it
        self._synonym_words = frozenset(
            w for variants in kb.synonyms.values() for v in variants for w in self.words(v)
        )
        # the lengths of the phrases each first stem begins, longest first: most words begin none
        lengths: dict[str, set[int]] = defaultdict(set)
        for phrase in self._phrases:
            lengths[phrase[0]].add(len(phrase))
        self._phrase_lengths = {first: tuple(sorted(n, reverse=True)) for first, n in lengths.items()}
        self.vocabulary: set[str] = set()  # every word the knowledge base uses, before stemming
        self._compounds: frozenset[str] = frozenset()
        self.known: frozenset[str] = frozenset()  # every term the knowledge base uses (see `know`)
        self._speller: Speller | None = None

    def learn(self, words: Iterable[str]) -> None:
        """Add the knowledge base's words, the only words a typo may be corrected into."""
        self.vocabulary.update(w for w in words if w not in STOPWORDS)
        self._speller = None
        self._spelled.clear()

    def learn_compounds(self, texts: Iterable[list[str]]) -> None:
        """The knowledge base's long words that may be typed as two ("out look" is Outlook), unless
        the knowledge base writes them as two ("care homes" is no "carehomes"; "can not" a negation)."""
        pairs = {f"{a} {b}" for words in texts for a, b in pairwise(words)}
        self._compounds = frozenset(
            w
            for w in self.vocabulary
            if len(w) >= MIN_COMPOUND
            and w.isalpha()
            and not any(f"{w[:k]} {w[k:]}" in pairs for k in range(1, len(w)))
        )

    @staticmethod
    def clean(text: str) -> str:
        if "<" in text or "@" in text:  # the checks spare most texts two regular expressions
            text = _MENTION.sub(" ", text)
        text = text.lower()
        if "://" in text or "www." in text:
            text = _URL.sub(" ", text)
        return _CONTRACTION.sub(_expand, text)

    def words(self, text: str) -> list[str]:
        # the engine and the matcher both read a message: the last one read is remembered (one tuple, so
        # that threads never see a text with another's words)
        last_text, last_words = self._last_read
        if text != last_text:
            last_words = _WORD.findall(self.clean(text))
            self._last_read = (text, last_words)
        return list(last_words)

    @property
    def speller(self) -> Speller:
        # built on the first unknown word: many messages have none, and start-up time matters for the CLI
        if self._speller is None:
            self._speller = Speller(self.vocabulary)
        return self._speller

    def correct(self, word: str) -> str | None:
        return self.speller.correct(word)

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = _remember(self._stems, word, self._stemmer.stemWord(word))
        return stem

    def know(self, terms: frozenset[str]) -> None:
        """The knowledge base's terms: a message word whose stem is one of them is not a typo."""
        self.known = terms
        self._spelled.clear()

    def terms(self, text: str, spell: bool = False) -> list[str]:
        """The message's terms in order. Unknown words are kept (they tell that a message is about
        something else) unless a close knowledge-base word makes them a typo. Synonym phrases are
        folded before small words are dropped, so "can't remember" and "never got" can be synonyms."""
        return self.terms_of(self.words(text), spell)

    def terms_of(self, words: list[str], spell: bool = False) -> list[str]:
        """The terms of a text already split into words (see `terms`); `spell` corrects typos, for
        messages (the knowledge base's own words need none)."""
        if spell:
            words = self._rejoin(words)
        readings = self._spelled if spell else self._readings
        read = [readings[w] if w in readings else _remember(readings, w, self._read(w, spell)) for w in words]
        stems = [stem for stem, _ in read]
        terms: list[str] = []
        i = 0
        while i < len(read):
            stem, term = read[i]
            for n in self._phrase_lengths.get(stem, ()):
                folded = self._phrases.get(tuple(stems[i : i + n]))
                if folded is not None:
                    terms += folded
                    i += n
                    break
            else:
                if term is not None:
                    terms.append(term)
                i += 1
        return terms

    def _read(self, word: str, spell: bool) -> tuple[str, str | None]:
        """A word's stem (synonym phrases are made of stems) and its term: its stem, "not" for a
        negation, None for a small word."""
        if spell:
            word = self._spell(_TEXTSPEAK.get(word, word))
            if word.isdigit() and word not in self.vocabulary:
                return word, None  # a count or a room number says nothing of the subject
        stem = self.stem(word)
        return stem, "not" if word in NEGATIONS else None if word in STOPWORDS else stem

    def _rejoin(self, words: list[str]) -> list[str]:
        """Words that dictation and hurried typing split, joined again: letters spelled out ("n h s",
        "c q c"), letters' names that make a knowledge-base word ("oh dee ess"), and a knowledge-base word
        typed as two ("out look", "in box")."""
        if (
            _LETTERS.isdisjoint(words)
            and _LETTER_NAMES.keys().isdisjoint(words)
            and self._compounds.isdisjoint([a + b for a, b in pairwise(words)])
        ):
            return words  # most messages: nothing to join
        joined: list[str] = []
        i, n = 0, len(words)
        while i < n:
            word = words[i]
            if word in _LETTER_NAMES:
                j = i
                while j < n and (words[j] in _LETTER_NAMES or (len(words[j]) == 1 and words[j].isalpha())):
                    j += 1
                letters = "".join(_LETTER_NAMES.get(w, w) for w in words[i:j])
                # the longest run from here that spells a word of the knowledge base ("why" alone stays)
                end = next((k for k in range(j, i + 1, -1) if letters[: k - i] in self.vocabulary), None)
                if end is not None:
                    joined.append(letters[: end - i])
                    i = end
                    continue
            if len(word) == 1 and word.isalpha():
                j = i + 1
                while j < n and len(words[j]) == 1 and words[j].isalpha():
                    j += 1
                # "i" and "a" are words of their own: "can i e mail", but "a u p" is the AUP
                start = 1 if word == "i" or (word == "a" and j - i < 3) else 0
                if j - i - start >= 2:
                    joined += [*words[i : i + start], "".join(words[i + start : j])]
                    i = j
                    continue
            if i + 1 < n and word + words[i + 1] in self._compounds:
                joined.append(word + words[i + 1])
                i += 2
                continue
            joined.append(word)
            i += 1
        return joined

    def _spell(self, word: str) -> str:
        """The word as the knowledge base would spell it: itself if known, else a close KB word if any."""
        if (
            word in STOPWORDS
            or word in NEGATIONS
            or word in self.vocabulary
            or word in self._synonym_words
            or self.stem(word) in self.known
        ):
            return word
        return self.correct(word) or word


def _with_pairs(terms: list[str]) -> list[str]:
    """The terms, and each two neighbouring terms in either order as one more ("password reset")."""
    return terms + [f"{a} {b}" if a < b else f"{b} {a}" for a, b in pairwise(terms) if a != b]


class Matcher:
    """Ranks topics against a message by idf-weighted overlap of terms, and of neighbouring pairs of terms
    ("shared mailbox password" is not just "password"), with each topic's phrasings."""

    # how much of a topic's score comes from its closest phrasings, the rest from all its words
    PHRASING_WEIGHT = 0.4
    # a word no topic uses: some evidence the message is about something else, but rambling messages
    # are full of such words too
    UNKNOWN_WEIGHT = 2.9
    # a topic's closest phrasings count, the closest most: several near phrasings beat one lucky one
    NEIGHBOUR_WEIGHTS: tuple[float, ...] = (1.0, 0.5, 0.25)
    # a word in one phrasing only is likely background ("came back from leave today"), not the topic's
    INCIDENTAL_WEIGHT = 0.7
    # the knowledge base's background words (who is asking, where they work) say little about the topic
    BACKGROUND_WEIGHT = 0.3
    # a long message's own length counts less than in proportion: staff wrap a question in background,
    # and that should not bury it. Past these sizes (about a dozen words) the query's norm and mass grow
    # as size ** LONG_DAMPING.
    LONG_DAMPING = 0.5
    NORM_REF = 12.0
    MASS_REF = 20.0
    # the question asked after a situation ("can't get in, can I just phone someone?"): its share of a score
    QUESTION_WEIGHT = 0.1
    # the two best topics within this share of each other are told apart by their phrasings' wording
    SIBLING_CLOSE = 0.75
    # and change places when the second is this much likelier (log odds): never more than a reorder, so
    # how sure the bot is, and so whether it asks, stays with the scores
    SIBLING_LOG_ODDS = 2.0
    # a subject the FAQ does not cover has few phrasings, so each word it shares weighs more there: it
    # must be much likelier to take an entry's place
    OUT_OF_SCOPE_LOG_ODDS = 4.0

    # the sentence model's closeness in meaning (a standard score) weighs this much in each topic's score
    SEMANTIC_WEIGHT = 0.1
    # the words alone leave no doubt, and the model is not asked, when the best topic scores this much and
    # nothing else comes above this share of it (`_clear`)
    CLEAR_SCORE = 0.6
    CLEAR_SHARE = 0.7

    # how sure the bot can be that the best topic is right: a logistic model over the evidence `_evidence`
    # lists, fitted on the question sets in tests/data by bench/calibrate.py
    SURE_WEIGHTS = (
        0.527,
        3.198,
        -3.125,
        -2.551,
        -0.648,
        1.517,
        0.113,
        1.138,
        0.163,
        -0.983,
        0.008,
        -0.793,
        -1.269,
    )

    def __init__(self, kb: KnowledgeBase, semantic: bool = True) -> None:
        self.normaliser = Normaliser(kb)
        topics: list[tuple[str, bool, list[str]]] = [
            (e.id, True, [e.title, e.short_title, *e.alternates, " ".join(e.keywords)]) for e in kb.entries
        ]
        topics += [(o.id, False, [o.title, *o.phrasings]) for o in kb.out_of_scope]
        self._topics = [(topic, in_scope) for topic, in_scope, _ in topics]
        self._index = {topic: i for i, (topic, _) in enumerate(self._topics)}
        self._in_scope = np.array([in_scope for _, in_scope in self._topics])
        # the phrasings as written (keywords are no sentence), for the sentence model, read on first use
        self._sentences = [t[:-1] if in_scope else t for _, in_scope, t in topics] if semantic else None
        self._semantic: Semantic | None = None
        self._semantic_lock = threading.Lock()
        word_lists = [[self.normaliser.words(t) for t in texts] for _, _, texts in topics]
        self.normaliser.learn(w for lists in word_lists for words in lists for w in words)
        self.normaliser.learn_compounds(words for lists in word_lists for words in lists)
        terms_of = self.normaliser.terms_of
        term_lists = [[_with_pairs(terms_of(words)) for words in lists] for lists in word_lists]
        topic_frequency: Counter[str] = Counter()
        phrasing_frequency: Counter[str] = Counter()
        for lists in term_lists:
            phrasings = [set(terms) for terms in lists]
            topic_frequency.update(set().union(*phrasings))
            for phrasing in phrasings:
                phrasing_frequency.update(phrasing)
        n = len(topics)
        background = {t for text in kb.background for t in self.normaliser.terms(text)}
        self.idf = {
            t: math.log((n + 1) / (df + 0.5))
            * (self.INCIDENTAL_WEIGHT if phrasing_frequency[t] == 1 else 1.0)
            * (self.BACKGROUND_WEIGHT if background.intersection(t.split()) else 1.0)
            for t, df in topic_frequency.items()
        }
        # an entry's keywords of several words anchor too, as a whole: "service" alone is not "National
        # Administration Service", and a keyword of one word is often an everyday one ("received")
        anchors = {self._phrase(text) for text in kb.anchors}
        keywords = {e.id: {self._phrase(k) for k in e.keywords if " " in k.strip()} for e in kb.entries}
        self._anchors = [frozenset(anchors | keywords.get(topic, set())) for topic, _, _ in topics]
        self._any_anchor = frozenset().union(*self._anchors)
        self.normaliser.know(frozenset(self.idf))

        self._term_ids = {t: i for i, t in enumerate(self.idf)}
        squares = [w * w for w in self.idf.values()]  # plain floats: numpy scalars are slow one by one
        idf = np.array(list(self.idf.values()))

        # phrasings are numbered topic by topic; one extra, empty phrasing pads a topic with fewer than the
        # neighbours counted (see `_run_phrasings`)
        postings: dict[int, list[int]] = defaultdict(list)
        norms: list[float] = []
        slots: list[list[int]] = []
        typical: list[tuple[int, int, float]] = []
        counted: list[tuple[int, int, int]] = []
        sizes: list[int] = []
        for index, lists in enumerate(term_lists):
            mine: list[int] = []
            share: dict[int, int] = defaultdict(int)
            for terms in lists:
                ids = {self._term_ids[t] for t in terms}
                if ids:
                    mine.append(len(norms))
                    for i in ids:
                        postings[i].append(len(norms))
                        share[i] += 1
                    norms.append(math.sqrt(sum(squares[i] for i in ids)))
            slots.append(mine)
            # how typical each word is of the topic: in most of its phrasings, or in one
            typical += ((i, index, min(1.0, 0.5 + count / len(lists))) for i, count in share.items())
            counted += ((i, index, count) for i, count in share.items())
            sizes.append(len(lists))
        # how often each term is in a topic's phrasings, as a log rate (naive Bayes over the words present,
        # add-half smoothing): tells two close topics apart by the words typical of one and not the other
        # (single precision, in place: the table is as big as the index's others)
        rates = np.full((len(idf), len(topics)), 0.5, dtype=np.float32)
        rows, columns, numbers = zip(*counted, strict=True)
        rates[rows, columns] += numbers
        rates /= np.array(sizes, dtype=np.float32) + 1.0
        self._log_rates = np.log(rates, out=rates)
        self._empty = len(norms)
        self._inverse_norms = 1.0 / np.array([*norms, 1.0])
        # what each term adds to a message's sums: its idf squared to each of its phrasings' dot products,
        # and its idf, as typical of the topic as it is, to each of its topics' coverage. The coverages are
        # counted after the phrasings and the empty one, so that one count makes both.
        adds: dict[int, list[float]] = {i: [float(idf[i]) ** 2] * len(p) for i, p in postings.items()}
        for i, topic, share in typical:
            postings[i].append(self._empty + 1 + topic)
            adds[i].append(float(idf[i]) * share)
        self._postings = [np.array(postings[i], dtype=np.intp) for i in range(len(idf))]
        self._posting_adds = [np.array(adds[i]) for i in range(len(idf))]
        self._counted = self._empty + 1 + len(topics)
        self._idf = idf.tolist()  # plain floats: a message has a few terms, summed faster one by one
        # every topic's phrasings in one run each, padded to the neighbours counted with the empty phrasing,
        # and each run set a step above the one before: sorted, a topic's closest phrasings are the last of
        # its run. A phrasing's cosine with a message, before it is divided by the message's norm, is at
        # most the norm of every term at once: the step is wider.
        k = len(self.NEIGHBOUR_WEIGHTS)
        runs = [m + [self._empty] * (k - len(m)) for m in slots]
        step = 2.0 ** math.ceil(math.log2(math.sqrt(float(idf @ idf)) + 1.0))
        self._run_phrasings = np.array([p for run in runs for p in run], dtype=np.intp)
        self._run_inverse_norms = self._inverse_norms[self._run_phrasings]
        self._run_offsets = np.repeat(np.arange(len(runs)) * step, [len(run) for run in runs])
        ends = np.cumsum([len(run) for run in runs])
        self._closest = ends[:, None] + np.arange(-k, 0)[None, :]  # a topic's row: the closest phrasing last
        self._closest_offsets = self._run_offsets[self._closest]
        self._neighbour_weights = np.array(self.NEIGHBOUR_WEIGHTS[::-1]) / sum(self.NEIGHBOUR_WEIGHTS)

    @property
    def semantic(self) -> Semantic | None:
        """The sentence model's second opinion, loaded on first use (a few tenths of a second; a few
        seconds the first time on a machine); None when it is not installed or not wanted."""
        with self._semantic_lock:
            if self._sentences is not None:
                self._semantic = Semantic.load(self._sentences, self._in_scope)
                self._sentences = None
            return self._semantic

    def _phrase(self, text: str) -> str:
        """A short phrase as one term: its only word, or its first two words as a pair."""
        terms = self.normaliser.terms(text)
        return _with_pairs(terms[:2])[-1] if terms else ""

    def _damp(self, size: float, reference: float) -> float:
        """`size` up to `reference`; beyond it, growing more slowly."""
        return size if size <= reference else reference * (size / reference) ** self.LONG_DAMPING

    def anchored(self, text: str) -> bool:
        """Whether the text says it is about NHSmail at all: an anchor of some topic (see `Match`)."""
        return not self._any_anchor.isdisjoint(_with_pairs(self.normaliser.terms(text, spell=True)))

    def unknown(self, text: str) -> int:
        """How many of the message's words no topic uses ("hoist", "weather"): its subject is not NHSmail."""
        return sum(t not in self._term_ids for t in self.normaliser.terms(text, spell=True))

    def rank(
        self,
        text: str,
        limit: int = 8,
        question: Callable[[str], str | None] | None = None,
        assess: bool = False,
        meaning: bool = True,
    ) -> list[Match]:
        """The `limit` best topics sharing a term with the message, best first; [] means no match at all.
        `question` finds the part of the message that asks, when a situation comes before it: when the two
        best topics are close, its own wording counts for QUESTION_WEIGHT of each topic's score. Unless the
        words alone leave no doubt (`_clear`) or `meaning` is off, the sentence model's closeness counts
        too, and `assess` says how sure the bot can be of the best topic it answers (`sure`)."""
        ranked = self._weighed(text, limit, question, meaning)
        if ranked is None:
            return []
        matches = ranked.matches
        if assess and ranked.meaning is not None and any(m.in_scope for m in matches):
            odds = sum(w * e for w, e in zip(self.SURE_WEIGHTS, self._evidence(ranked), strict=True))
            first = next(n for n, m in enumerate(matches) if m.in_scope)
            matches[first] = matches[first]._replace(
                sure=1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, odds))))
            )
        return matches

    def evidence(self, text: str, question: Callable[[str], str | None] | None = None) -> list[float] | None:
        """What tells how likely the best topic the FAQ answers is the right one (see `_evidence`); None
        when the words alone leave no doubt, the model is not there, or no topic the FAQ answers fits."""
        ranked = self._weighed(text, 8, question, meaning=True)
        if ranked is None or ranked.meaning is None or not any(m.in_scope for m in ranked.matches):
            return None
        return self._evidence(ranked)

    def _weighed(
        self, text: str, limit: int, question: Callable[[str], str | None] | None, meaning: bool
    ) -> _Ranked | None:
        """`_ranked` on words alone, or again with the sentence model when it is wanted, there, and the
        words leave doubt."""
        scored = self._scores(text)
        if scored is None:
            return None
        ranked = self._ranked(text, scored, limit, question, None)
        semantic = self.semantic if meaning else None
        if semantic is None or self._clear(ranked.matches):
            return ranked
        return self._ranked(text, scored, limit, question, semantic)

    def _ranked(
        self,
        text: str,
        scored: tuple[np.ndarray, set[str], list[int]],
        limit: int,
        question: Callable[[str], str | None] | None,
        semantic: Semantic | None,
    ) -> _Ranked:
        """The best topics for the text's word scores (`_scores`), on words alone or, given the model,
        with its closeness counted in."""
        scores, terms, ids = scored
        meaning = semantic.closeness(text) if semantic is not None else None
        # a copy: `_tell_apart` swaps scores in place, and the same word scores may be ranked twice
        scores = self._with_meaning(scores.copy(), terms, meaning)
        order = np.argsort(-scores)[:limit]
        close = len(order) > 1 and self._close(scores, order)
        # the part that asks: for close topics, and for how sure the bot can be of the best
        asking = question(text) if question and (close or semantic is not None) else None
        asked_meaning = semantic.closeness(asking) if semantic is not None and asking else None
        if asking and close:
            asked = self._scores(asking)
            if asked is not None:
                asked_scores = self._with_meaning(asked[0], asked[1], asked_meaning)
                scores = (1 - self.QUESTION_WEIGHT) * scores + self.QUESTION_WEIGHT * asked_scores
                order = np.argsort(-scores)[:limit]
        if len(order) > 1 and self._tell_apart(scores, order, ids):
            order = np.argsort(-scores)[:limit]
        chosen = order.tolist()  # plain ints and floats: numpy scalars are slow one by one
        matches = [
            Match(
                self._topics[i][0],
                min(1.0, score),
                self._topics[i][1],
                not self._anchors[i].isdisjoint(terms),
            )
            for i, score in zip(chosen, scores[chosen].tolist(), strict=True)
            if score > 0
        ]
        return _Ranked(matches, ids, meaning, asked_meaning)

    def _with_meaning(self, scores: np.ndarray, terms: set[str], meaning: np.ndarray | None) -> np.ndarray:
        """For a text that names NHSmail, each topic's closeness in meaning adds SEMANTIC_WEIGHT of its
        standard score (a text that names nothing of NHSmail is judged on its words: see Engine)."""
        if meaning is None or self._any_anchor.isdisjoint(terms):
            return scores
        return np.maximum(scores + self.SEMANTIC_WEIGHT * meaning, 0.0)

    def _clear(self, matches: list[Match]) -> bool:
        """Whether the words alone leave no doubt: a message that names NHSmail fits one topic the FAQ
        answers well and nothing else comes near (on the check sets, 1 wrong in 1,338 such messages)."""
        answered = [m for m in matches if m.in_scope]
        if not answered or not answered[0].anchored or answered[0].score < self.CLEAR_SCORE:
            return False
        rival = next((m.score for m in matches if m is not answered[0]), 0.0)
        return rival <= answered[0].score * self.CLEAR_SHARE

    def _evidence(self, ranked: _Ranked) -> list[float]:
        """The best topic's score, how close the runner-up and the closest subject the FAQ does not cover
        come, whether the message names NHSmail, the word odds between the two best, and what the model
        says: whether it puts the same topic first, how close it is in meaning, how much closer a subject
        the FAQ does not cover is, and, when a situation comes before the question, whether the
        question alone is closest to the same topic (1), to another (-1); 0 with no such part; and how
        close the third topic comes (a fragment can fit three at once), and how short the message is (one
        term over the number it has: a word or two can fit several topics)."""
        matches, ids, closeness = ranked.matches, ranked.ids, ranked.meaning
        assert closeness is not None  # only weighed when the model was asked
        answered = [m for m in matches if m.in_scope]
        best = answered[0]
        score = max(best.score, 1e-3)
        second = answered[1] if len(answered) > 1 else None
        outside = next((m.score for m in matches if not m.in_scope), 0.0)
        a = self._index[best.topic]
        log_odds = 0.0
        if second is not None:
            log_odds = float(
                (self._log_rates[ids, a] - self._log_rates[ids, self._index[second.topic]]).sum()
            )
        agrees = int(np.argmax(np.where(self._in_scope, closeness, -np.inf))) == a
        closest_outside = float(np.max(closeness[~self._in_scope])) if not self._in_scope.all() else 0.0
        question_agrees = 0.0
        if ranked.asked is not None:
            asked = int(np.argmax(np.where(self._in_scope, ranked.asked, -np.inf)))
            question_agrees = 1.0 if asked == a else -1.0
        return [
            1.0,
            score,
            (second.score if second else 0.0) / score,
            outside / score,
            float(best.anchored),
            score * score,
            max(-8.0, min(8.0, log_odds)),
            float(agrees),
            float(closeness[a]),
            closest_outside - float(closeness[a]),
            question_agrees,
            (answered[2].score if len(answered) > 2 else 0.0) / score,
            1.0 / len(ids),
        ]

    def _close(self, scores: np.ndarray, order: np.ndarray) -> bool:
        """Whether the question's own wording could change which of the two best topics comes first."""
        weight = self.QUESTION_WEIGHT
        return bool(scores[order[0]] - scores[order[1]] < weight / (1 - weight))

    def _scores(self, text: str) -> tuple[np.ndarray, set[str], list[int]] | None:
        """Every topic's score for a text, with the text's terms and their ids; None if no term is known."""
        message_terms = self.normaliser.terms(text, spell=True)
        ids: list[int] = []
        unknown = 0  # a word no topic uses counts against every topic; an unknown pair counts for nothing
        terms = set(_with_pairs(message_terms))
        for t in terms:
            i = self._term_ids.get(t)
            if i is not None:
                ids.append(i)
            elif " " not in t:
                unknown += 1
        if not ids:
            return None
        idf = self._idf
        query_norm = self._damp(
            math.sqrt(sum(idf[i] * idf[i] for i in ids) + unknown * self.UNKNOWN_WEIGHT**2), self.NORM_REF
        )
        query_mass = self._damp(sum(idf[i] for i in ids) + unknown * self.UNKNOWN_WEIGHT, self.MASS_REF)
        sums = np.bincount(
            np.concatenate([self._postings[i] for i in ids]),
            weights=np.concatenate([self._posting_adds[i] for i in ids]),
            minlength=self._counted,
        )
        dots, coverage = sums, sums[self._empty + 1 :]
        keyed = dots[self._run_phrasings] * self._run_inverse_norms + self._run_offsets
        keyed.sort()
        neighbours = (keyed[self._closest] - self._closest_offsets) @ self._neighbour_weights
        neighbours *= self.PHRASING_WEIGHT / query_norm
        coverage *= (1 - self.PHRASING_WEIGHT) / query_mass
        return neighbours + coverage, terms, ids

    def _tell_apart(self, scores: np.ndarray, order: np.ndarray, ids: list[int]) -> bool:
        """Two close topics (siblings: a forgotten password, a reset that still fails) are told apart by
        the log odds of the message's terms in their phrasings: when the second is clearly likelier, the two
        swap scores."""
        a, b = int(order[0]), int(order[1])
        if scores[b] < scores[a] * self.SIBLING_CLOSE:
            return False
        log_odds = float((self._log_rates[ids, a] - self._log_rates[ids, b]).sum())
        needed = self.SIBLING_LOG_ODDS if self._topics[b][1] else self.OUT_OF_SCOPE_LOG_ODDS
        if log_odds < -needed:  # the second is clearly likelier: the two change places
            scores[a], scores[b] = scores[b], scores[a]
            return True
        return False
