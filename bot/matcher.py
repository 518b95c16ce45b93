"""Normalise, index, rank: pure and synchronous. Words become terms; topics are ranked by shared terms."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import snowballstemmer
from english_words import get_english_words_set

from bot.knowledge import KnowledgeBase

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
NEGATIONS = frozenset({"not", "no", "never", "cannot", "unable", "nor", "without"})

_MENTION = re.compile(r"<at>.*?</at>|<[@#!][^>]*>|(?<!\w)@[\w.-]+(?:\s+bot\b)?", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"<?https?://\S+|www\.\S+", re.IGNORECASE)
_CONTRACTIONS = (
    (re.compile(r"\bcan[’']?t\b"), "can not"),
    (re.compile(r"\bwon[’']?t\b"), "will not"),
    (re.compile(r"\bshan[’']?t\b"), "shall not"),
    (re.compile(r"n[’']t\b"), " not"),
    (re.compile(r"[’'](?:ve|ll|re|d|m|s)\b"), ""),
)
_WORD = re.compile(r"[a-z0-9]+")

# Typos are corrected towards the knowledge base's own words only; longer words may be further off.
MIN_CORRECTABLE = 4
LONG_WORD = 7


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


@dataclass(frozen=True, slots=True)
class Match:
    topic: str
    score: float
    in_scope: bool


class Normaliser:
    """Message text to terms: mentions and URLs dropped, contractions opened, words corrected,
    stemmed and folded into the knowledge base's synonym groups."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}
        self._english = get_english_words_set(["gcide"], alpha=True, lower=True)
        # synonym phrases, as word tuples, to their group's canonical words; longest phrases first
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in kb.synonyms.items():
            target = tuple(self.words(canonical))
            for variant in (canonical, *variants):
                self._phrases[tuple(self.words(variant))] = target
        # a synonym is a spelling the knowledge base knows, even a misspelling: never "correct" it
        self._synonym_words = frozenset(w for phrase in self._phrases for w in phrase)
        self._longest_phrase = max((len(p) for p in self._phrases), default=1)
        self.vocabulary: set[str] = set()  # every word the knowledge base uses, before stemming
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        self._corrections: dict[str, str | None] = {}

    def learn(self, texts: Iterable[str]) -> None:
        """Add the knowledge base's words, the only words a typo may be corrected into."""
        for text in texts:
            for word in self.words(text):
                if word not in self.vocabulary and word not in STOPWORDS:
                    self.vocabulary.add(word)
                    if len(word) >= MIN_CORRECTABLE and not word.isdigit():
                        for d in _deletes(word, 2 if len(word) >= LONG_WORD else 1):
                            self._by_deletion[d].add(word)
        self._corrections.clear()

    @staticmethod
    def clean(text: str) -> str:
        text = _URL.sub(" ", _MENTION.sub(" ", text)).lower()
        for pattern, replacement in _CONTRACTIONS:
            text = pattern.sub(replacement, text)
        return text

    def words(self, text: str) -> list[str]:
        return _WORD.findall(self.clean(text))

    def correct(self, word: str) -> str | None:
        """The knowledge base word a typo most likely meant, or None for a word it does not know."""
        if word in self._corrections:
            return self._corrections[word]
        best: str | None = None
        if len(word) >= MIN_CORRECTABLE and not word.isdigit() and word not in self._english:
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
        self._corrections[word] = best
        return best

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = self._stemmer.stemWord(word)
        return stem

    def _fold(self, words: list[str]) -> Iterator[str]:
        i = 0
        while i < len(words):
            for n in range(min(self._longest_phrase, len(words) - i), 0, -1):
                target = self._phrases.get(tuple(words[i : i + n]))
                if target is not None:
                    yield from target
                    i += n
                    break
            else:
                yield words[i]
                i += 1

    def terms(self, text: str, known: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """The message's terms in order. Unknown words are kept (they tell that a message is about
        something else) unless a close knowledge-base word makes them a typo. Synonym phrases are
        folded before small words are dropped, so "can't remember" and "never got" can be synonyms."""
        words = [w if not known or self._is_known(w, known) else self.correct(w) or w for w in self.words(text)]
        folded = ("not" if w in NEGATIONS else w for w in self._fold(words))
        return [self.stem(w) for w in folded if w not in STOPWORDS]

    def _is_known(self, word: str, known: frozenset[str] | set[str]) -> bool:
        return (
            word in STOPWORDS
            or word in NEGATIONS
            or word in self.vocabulary
            or word in self._synonym_words
            or self.stem(word) in known
        )


@dataclass(slots=True)
class _Phrasing:
    topic: int
    norm: float  # the length of its idf-weighted term vector


class Matcher:
    """Ranks topics against a message by idf-weighted term overlap with each topic's phrasings."""

    # how much of a topic's score comes from its single closest phrasing, the rest from all its words
    PHRASING_WEIGHT = 0.6
    # a word no topic uses: some evidence the message is about something else, but rambling messages
    # are full of such words too
    UNKNOWN_WEIGHT = 2.9
    # a topic's closest phrasings count, the closest most: several near phrasings beat one lucky one
    NEIGHBOUR_WEIGHTS: tuple[float, ...] = (1.0, 0.5, 0.25)

    def __init__(self, kb: KnowledgeBase) -> None:
        self.normaliser = Normaliser(kb)
        topics: list[tuple[str, bool, list[str]]] = [
            (e.id, True, [e.title, e.short_title, *e.alternates, " ".join(e.keywords)]) for e in kb.entries
        ]
        topics += [(o.id, False, [o.title, *o.phrasings]) for o in kb.out_of_scope]
        self.normaliser.learn(text for _, _, texts in topics for text in texts)
        self._topics = [(topic, in_scope) for topic, in_scope, _ in topics]

        term_lists = [[self.normaliser.terms(t) for t in texts] for _, _, texts in topics]
        self.known: frozenset[str] = frozenset(t for lists in term_lists for terms in lists for t in terms)
        document_frequency: dict[str, int] = defaultdict(int)
        for lists in term_lists:
            for term in {t for terms in lists for t in terms}:
                document_frequency[term] += 1
        n = len(topics)
        self.idf = {t: math.log((n + 1) / (df + 0.5)) for t, df in document_frequency.items()}

        self._phrasings: list[_Phrasing] = []
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._topic_terms: list[dict[str, float]] = []
        for index, lists in enumerate(term_lists):
            share: dict[str, int] = defaultdict(int)
            for terms in lists:
                unique = set(terms)
                if not unique:
                    continue
                p = len(self._phrasings)
                self._phrasings.append(_Phrasing(index, math.sqrt(sum(self.idf[t] ** 2 for t in unique))))
                for term in unique:
                    self._postings[term].append((p, self.idf[term] ** 2))
                    share[term] += 1
            # how typical each word is of the topic: in most of its phrasings, or in one
            self._topic_terms.append({t: min(1.0, 0.5 + c / len(lists)) for t, c in share.items()})

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.UNKNOWN_WEIGHT)

    def rank(self, text: str) -> list[Match]:
        """Every topic sharing a term with the message, best first. An empty list means no match at all."""
        terms = set(self.normaliser.terms(text, self.known))
        if not terms:
            return []
        query_norm = math.sqrt(sum(self.weight(t) ** 2 for t in terms))
        query_mass = sum(self.weight(t) for t in terms)
        overlap: dict[int, float] = defaultdict(float)
        for term in terms:
            for p, w in self._postings.get(term, ()):
                overlap[p] += w
        cosines: dict[int, list[float]] = defaultdict(list)
        for p, dot in overlap.items():
            phrasing = self._phrasings[p]
            cosines[phrasing.topic].append(dot / (query_norm * phrasing.norm))
        matches = []
        for topic, values in cosines.items():
            closest = sorted(values, reverse=True)[: len(self.NEIGHBOUR_WEIGHTS)]
            cosine = sum(w * c for w, c in zip(self.NEIGHBOUR_WEIGHTS, closest, strict=False)) / sum(
                self.NEIGHBOUR_WEIGHTS
            )
            typical = self._topic_terms[topic]
            coverage = sum(self.weight(t) * typical[t] for t in terms if t in typical) / query_mass
            score = self.PHRASING_WEIGHT * cosine + (1 - self.PHRASING_WEIGHT) * coverage
            name, in_scope = self._topics[topic]
            matches.append(Match(name, min(1.0, score), in_scope))
        matches.sort(key=lambda m: m.score, reverse=True)
        return matches
