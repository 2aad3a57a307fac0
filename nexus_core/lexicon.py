"""English facts for the template writer, read from a WordNet 3.0 database (Debian's `wordnet-base`).

WordNet (Princeton University, WordNet 3.0 licence: use with its copyright notice) gives each noun a
definition, a more general term and its parts. The template writer turns those into plain spoken
sentences, so a short prompt such as "black holes" is narrated with what a black hole is, offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

WORDNET_DIRS: Final[tuple[str, ...]] = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/opt/homebrew/share/wordnet")
WORDNET_CREDIT: Final = "Facts for offline narration: WordNet 3.0, Copyright 2006 by Princeton University."
_YEARS = re.compile(r"\s*\((?:c\.\s*)?(\d{3,4}\s*(?:BC)?)\s*-\s*(\d{3,4}\s*(?:BC)?)\)")
_QUOTED = re.compile(r'\s*;?\s*"[^"]*"')


@dataclass(frozen=True)
class LexEntry:
    """One noun sense: its name as WordNet writes it, the definition, a more general term, its parts."""

    name: str
    senses: int
    gloss: str
    hypernym: str | None
    parts: tuple[str, ...]
    lifetime: tuple[str, str] | None  # (born, died) for people, from a "(1867-1934)" in the gloss
    hypernym_offset: str | None = None

    @property
    def is_proper(self) -> bool:
        return self.name[:1].isupper()


def _words_of(line: str) -> tuple[list[str], list[tuple[str, str]], str]:
    """(words, pointers as (symbol, offset) for nouns, gloss) of one data.noun line."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    count = int(fields[3], 16)
    words = [fields[4 + 2 * i] for i in range(count)]
    at = 4 + 2 * count
    pointers = []
    for i in range(int(fields[at])):
        symbol, offset, pos = fields[at + 1 + 4 * i : at + 4 + 4 * i]
        if pos == "n":
            pointers.append((symbol, offset))
    return words, pointers, gloss.strip()


def _clean_name(word: str) -> str:
    return re.sub(r"\(\w+\)$", "", word).replace("_", " ")


PERSON_FILE = 18  # WordNet's lexicographer file noun.person
AMBIGUOUS_SENSES = 3  # a word with this many senses or more is left unsaid when its context picks none
_CONTEXT_STOP = frozenset(
    ["the", "and", "for", "with", "from", "that", "which", "this", "these", "those", "its", "are", "was", "were",
     "has", "have", "had", "how", "why", "what", "who", "when", "where", "into", "onto", "over", "under", "about",
     "than", "then", "there", "their", "them", "they", "some", "any", "all", "one", "two", "very", "more", "most",
     "such", "also", "explainer", "explained", "video", "short", "tour", "brief", "history",
     # words so common in definitions that sharing one says nothing of the sense: "the collapse of a star" in a
     # black hole's definition next to "gravitational field" is not "someone dazzlingly skilled in any field"
     "field", "region", "area", "part", "body", "form", "kind", "type", "thing", "person", "people", "someone",
     "something", "used", "large", "small", "high", "low", "extremely", "resulting", "many", "other", "made",
     "make", "time", "way", "world", "especially", "usually", "often", "various", "specific", "general",
     "second", "first", "new"]
)


def context_words(*texts: str) -> frozenset[str]:
    """The content words of texts, lower-case and without a plural s: what a sense's definition is matched to."""
    words = (w.lower() for text in texts for w in re.findall(r"[A-Za-z]+", text))
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words
                     if len(w) >= 3 and w.lower() not in _CONTEXT_STOP)


class WordNet:
    """Noun look-ups in a WordNet database folder (index.noun, data.noun, noun.exc)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._index: dict[str, tuple[int, list[str]]] = {}
        with open(self.root / "index.noun", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(" "):
                    continue
                fields = line.split()
                senses = int(fields[2])
                self._index[fields[0]] = (senses, fields[-senses:])
        self._other: dict[str, int] = {}  # senses as a verb or an adjective
        for other in ("index.verb", "index.adj"):
            if (self.root / other).is_file():
                with open(self.root / other, encoding="utf-8") as fh:
                    for line in fh:
                        if not line.startswith(" "):
                            fields = line.split(" ", 3)
                            self._other[fields[0]] = self._other.get(fields[0], 0) + int(fields[2])
        self._exceptions: dict[str, str] = {}
        exc = self.root / "noun.exc"
        if exc.is_file():
            for line in exc.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    self._exceptions[parts[0]] = parts[1]
        self._data = open(self.root / "data.noun", "rb")  # noqa: SIM115 - kept open for seeks

    def lemma(self, phrase: str) -> str | None:
        """The index key for a noun phrase ("Black holes" -> "black_hole"), or None if WordNet lacks it."""
        key = re.sub(r"\s+", "_", phrase.strip().lower().replace("’", "'"))
        if not key:
            return None
        candidates = [key, self._exceptions.get(key, "")]
        if key.endswith("ies"):
            candidates.append(key[:-3] + "y")
        # "-es" is the plural ending after s, x, z, ch, sh and o ("volcanoes"); else it is "-e" + "s" ("miles"
        # is a mile, not a mil)
        es_plural = key.endswith(("ses", "xes", "zes", "ches", "shes", "oes"))
        if key.endswith("es") and es_plural:
            candidates.append(key[:-2])
        if key.endswith("s") and not key.endswith("ss"):
            candidates.append(key[:-1])
        if key.endswith("es") and not es_plural:
            candidates.append(key[:-2])
        if key.endswith("'s"):
            candidates.append(key[:-2])
        return next((c for c in candidates if c and c in self._index), None)

    def senses(self, phrase: str) -> int:
        """How many noun senses the phrase has (0 when unknown): a rough measure of how specific it is."""
        lemma = self.lemma(phrase)
        return self._index[lemma][0] if lemma else 0

    def other_senses(self, word: str) -> int:
        """Senses as a verb or adjective ("work", "chase", "red" are more than nouns; "honeybee" is not)."""
        key = word.strip().lower()
        for candidate in (key, key[:-1] if key.endswith("s") else "", key[:-2] if key.endswith("es") else ""):
            if candidate in self._other:
                return self._other[candidate]
        return 0

    def _line(self, offset: str) -> str:
        self._data.seek(int(offset))
        return self._data.readline().decode("utf-8")

    def entry(self, phrase: str) -> LexEntry | None:
        """The most frequent noun sense of a phrase, or None."""
        lemma = self.lemma(phrase)
        if lemma is None:
            return None
        senses, offsets = self._index[lemma]
        return self.entry_at(offsets[0], lemma=lemma, senses=senses)

    def sense(
        self, phrase: str, context: frozenset[str], *, ambiguous_from: int = AMBIGUOUS_SENSES,
        prefer_things: bool = False,
    ) -> LexEntry | None:
        """The noun sense of a phrase that its context speaks of: the one whose definition shares the most
        words with the context (a simplified Lesk), the first sense on a tie. None when the phrase has
        `ambiguous_from` senses or more and none shares a word: "jazz" in "jazz music in New Orleans" is the genre,
        not "empty rhetoric"; "landing" in "the Apollo 11 moon landing" is left unsaid rather than called "a
        platform in a staircase". WordNet orders equally rare senses arbitrarily, so the first is no safe bet.
        `prefer_things`: a sense that is not a person wins a tie against one that is ("whales": the animal, not
        "a very large person", WordNet's first)."""
        lemma = self.lemma(phrase)
        if lemma is None:
            return None
        senses, offsets = self._index[lemma]
        if senses == 1:
            return self.entry_at(offsets[0], lemma=lemma, senses=senses)
        topic = context - context_words(lemma.replace("_", " "))
        # the definition only: synonyms mislead ("bread" is slang for money, so "dough" would be money)
        overlaps = [len(topic & context_words(_words_of(self._line(offset))[2])) for offset in offsets]
        best = max(range(senses), key=lambda k: (overlaps[k], -k))
        if overlaps[best] == 0 and senses >= ambiguous_from:
            return None
        # of two senses the first (the more usual one) gives way only to a clear winner: "France" in "the French
        # Revolution" is the republic, though "French writer" (Anatole France) shares a word
        margin = 1 if senses >= AMBIGUOUS_SENSES else 2
        chosen = best if overlaps[best] - overlaps[0] >= margin else 0
        if prefer_things and self._lexfile(offsets[chosen]) == PERSON_FILE:
            chosen = next((k for k in range(senses) if overlaps[k] == overlaps[chosen]
                           and self._lexfile(offsets[k]) != PERSON_FILE), chosen)
        return self.entry_at(offsets[chosen], lemma=lemma, senses=senses)

    def _lexfile(self, offset: str) -> int:
        """The lexicographer file of a sense (18: noun.person, 05: noun.animal, ...)."""
        return int(self._line(offset).split(" ", 2)[1])

    def broader(self, entry: LexEntry) -> LexEntry | None:
        """The entry's more general term, named by the synonym its definition uses: a volcano is "a fissure
        in the earth's crust", so its broader term is "fissure", not the synset's first word "crack"."""
        if not entry.hypernym_offset:
            return None
        gloss = f" {' '.join(re.findall(r'[a-z]+', entry.gloss.lower()))} "
        words = _words_of(self._line(entry.hypernym_offset))[0]
        used = next((w.lower() for w in words if f" {_clean_name(w).lower()} " in gloss), "")
        return self.entry_at(entry.hypernym_offset, lemma=used)

    def entry_at(self, offset: str, *, lemma: str = "", senses: int = 0) -> LexEntry:
        """The noun sense stored at `offset` (e.g. an entry's hypernym_offset: that exact sense)."""
        words, pointers, gloss = _words_of(self._line(offset))
        name = next((w for w in words if w.lower() == lemma), words[0])
        senses = senses or self._index.get(name.lower(), (1, []))[0]
        hypernym = next((o for s, o in pointers if s in ("@", "@i")), None)
        parts = tuple(dict.fromkeys(_clean_name(_words_of(self._line(o))[0][0]) for s, o in pointers if s == "%p"))
        gloss = _QUOTED.sub("", gloss).strip(" ;")
        lifetime = None
        if found := _YEARS.search(gloss):
            lifetime = (found.group(1), found.group(2))
            gloss = _YEARS.sub("", gloss)
        return LexEntry(
            name=_clean_name(name),
            senses=senses,
            gloss=gloss.strip(" ;"),
            hypernym=_clean_name(_words_of(self._line(hypernym))[0][0]) if hypernym else None,
            parts=parts[:4],
            lifetime=lifetime,
            hypernym_offset=hypernym,
        )


@lru_cache(maxsize=4)
def _open(root: str) -> WordNet:
    return WordNet(Path(root))


def find_wordnet(preferred: str | None = None, search: Iterable[str] = WORDNET_DIRS) -> WordNet | None:
    """The WordNet database in `preferred` or a standard folder (loaded once per process), or None."""
    for folder in (preferred, *search):
        if folder and (Path(folder) / "index.noun").is_file() and (Path(folder) / "data.noun").is_file():
            return _open(str(Path(folder).resolve()))
    return None
