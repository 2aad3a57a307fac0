"""Phonemes for Piper-format neural voices: espeak-ng's IPA clauses to sentences, sentences to model ids.

Pure: the espeak-ng program runs elsewhere (resources/voice.py, through the one runner); this module turns
its output into exactly what Piper's own phonemizer produces — clause punctuation kept, language-switch
markers such as "(en)" removed, one phoneme per Unicode code point (NFD) — and maps it to ids with the
voice's own `.onnx.json`.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BOS = "^"  # Piper's beginning of sentence
EOS = "$"  # end of sentence
PAD = "_"  # after every phoneme (and after BOS)

ESPEAK = "espeak"  # phoneme types this module can feed: espeak-ng IPA, or the text's own code points
TEXT = "text"

_LANGUAGE_SWITCH = re.compile(r"\([^)]+\)")  # espeak-ng's "(en)word(fr)" around borrowed words
_CLAUSE_SPACE = frozenset(",:;")  # Piper keeps these and a space after; sentence ends start a new sentence
_STRESS_AND_LENGTH = frozenset("ˈˌːˑ‿")


@dataclass(frozen=True)
class PhonemeConfig:
    """What a Piper-format voice needs besides its weights: the phoneme ids, its espeak-ng voice, its
    sample rate and inference scales, its speakers (read from the `.onnx.json` beside the model)."""

    phoneme_id_map: Mapping[str, tuple[int, ...]]
    espeak_voice: str = "en-us"
    phoneme_type: str = ESPEAK
    phoneme_map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sample_rate: int = 22050
    num_speakers: int = 1
    speaker_id_map: Mapping[str, int] = field(default_factory=dict)
    default_speaker_id: int = 0
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    vowel_clusters: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhonemeConfig:
        inference = data.get("inference") or {}
        return cls(
            phoneme_id_map={str(k): tuple(int(i) for i in v) for k, v in data["phoneme_id_map"].items()},
            espeak_voice=str((data.get("espeak") or {}).get("voice", "en-us")),
            phoneme_type=str(data.get("phoneme_type", ESPEAK)),
            phoneme_map={str(k): tuple(str(p) for p in v) for k, v in (data.get("phoneme_map") or {}).items()},
            sample_rate=int(data["audio"]["sample_rate"]),
            num_speakers=int(data.get("num_speakers", 1)),
            speaker_id_map={str(k): int(v) for k, v in (data.get("speaker_id_map") or {}).items()},
            default_speaker_id=int(data.get("default_speaker_id", 0)),
            noise_scale=float(inference.get("noise_scale", 0.667)),
            length_scale=float(inference.get("length_scale", 1.0)),
            noise_w=float(inference.get("noise_w", 0.8)),
            vowel_clusters=tuple(tuple(c) for c in data.get("vowel_clusters") or ()),
        )

    @classmethod
    def load(cls, path: Path) -> PhonemeConfig:
        """The config of a voice: `path` is the `.onnx.json` file."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def speaker_id(self, voice: str) -> int | None:
        """The `sid` input for a request's voice name: None for a single-speaker voice."""
        if self.num_speakers <= 1:
            return None
        return self.speaker_id_map.get(voice, self.default_speaker_id)


# ---------------------------------------------------------------- clauses, as espeak-ng cuts them

_CLOSERS = "\"'»”’)]}"
_ASCII_MARK = re.compile(rf"[—–](?=\s|$)|(\.{{3,}}|…|[.?!,;:،؛؟]+)[{re.escape(_CLOSERS)}]*(?=\s|$)")
_WIDE_MARKS: dict[str, tuple[str, bool]] = {  # full-width and Indic marks end a clause wherever they are
    "，": ("", False), "、": ("", False), "；": ("", False), "：": ("", False),
    "。": ("", True), "？": ("", True), "！": ("", True), "।": ("", True), "॥": ("", True),
}
_ASCII_TERMINATORS: dict[str, tuple[str, bool]] = {
    "?": ("?", True), "!": ("!", True), "؟": ("?", True), ".": (".", True),
    ",": (",", False), "،": (",", False), ";": (";", False), "؛": (";", False), ":": (":", False),
}


@dataclass(frozen=True)
class Clause:
    """One clause of a text as espeak-ng splits it: the text and how it ends (Piper's terminator)."""

    text: str
    terminator: str
    ends_sentence: bool


def split_clauses(text: str) -> list[Clause]:
    """The clauses espeak-ng reads a line in, and the terminator Piper's bridge reports for each.

    Mirrors espeak-ng's rules for the marks it knows: punctuation followed by a space or the end; a full
    stop followed by a lower-case word does not end anything ("Dr. who", "p.m. now"); an ellipsis ends a
    clause with no terminator; a free-standing dash reads as ';'; full-width marks end clauses anywhere.
    """
    clauses: list[Clause] = []
    start = 0
    for index, mark, terminator, ends in _marks(text):
        piece = text[start:index].strip()
        start = index + len(mark)
        if _speakable(piece):  # a mark after nothing ("— Hello", "Why? ... no") ends no clause
            clauses.append(Clause(piece, terminator, ends))
    rest = text[start:].strip()
    if rest or not clauses:
        clauses.append(Clause(rest, "", True))
    return clauses


def _marks(text: str) -> list[tuple[int, str, str, bool]]:
    found: list[tuple[int, str, str, bool]] = []
    for index, char in enumerate(text):
        if char in _WIDE_MARKS:
            found.append((index, char, *_WIDE_MARKS[char]))
    for match in _ASCII_MARK.finditer(text):
        mark = match.group(0)
        run = match.group(1) or ""
        if not run:  # a dash with a space after it
            found.append((match.start(), mark, ";", False))
            continue
        if run == "…" or run.startswith("..."):
            found.append((match.start(), mark, "", False))
            continue
        if run[0] == "." and _lower_follows(text, match.end()):
            continue  # "Dr. who", "a.m., didn't": espeak-ng reads on
        found.append((match.start(), mark, *_ASCII_TERMINATORS[run[0]]))  # "?!" asks, "!?" exclaims
    found.sort()
    return found


def _speakable(piece: str) -> bool:
    return any(not unicodedata.category(c).startswith(("P", "Z")) for c in piece)


def _lower_follows(text: str, end: int) -> bool:
    rest = text[end:].lstrip()
    return bool(rest) and rest[0].islower()


def sentences_from_clauses(phonemes: Sequence[str], clauses: Sequence[Clause]) -> list[str]:
    """Piper's sentences from espeak-ng's per-clause IPA: language switches removed, each clause's
    terminator kept (and a space after ',', ':' and ';'), a new sentence after each sentence end.

    `phonemes[i]` is the IPA espeak-ng printed for `clauses[i]`; the two must be as long.
    """
    if len(phonemes) != len(clauses):
        raise ValueError(f"{len(phonemes)} clauses of phonemes for {len(clauses)} clauses of text")
    sentences: list[str] = []
    current = ""
    for ipa, clause in zip(phonemes, clauses, strict=True):
        current += _LANGUAGE_SWITCH.sub("", ipa.strip()) + clause.terminator
        if clause.terminator in _CLAUSE_SPACE:
            current += " "
        if clause.ends_sentence:
            sentences.append(current)
            current = ""
    if current:
        sentences.append(current)
    return [s for s in sentences if s]


# ---------------------------------------------------------------- ids


def phoneme_list(ipa_text: str, config: PhonemeConfig) -> list[str]:
    """The phonemes of one sentence: its NFD code points, vowel clusters merged, `phoneme_map` applied."""
    phonemes = list(unicodedata.normalize("NFD", ipa_text))
    if config.vowel_clusters:
        phonemes = _merge_clusters(phonemes, set(config.vowel_clusters))
    if config.phoneme_map:
        phonemes = [p for phoneme in phonemes for p in config.phoneme_map.get(phoneme, (phoneme,))]
    return phonemes


def phoneme_ids(ipa_text: str, config: PhonemeConfig) -> list[int]:
    """Model input ids for one sentence of IPA: BOS, each phoneme followed by PAD, EOS. Phonemes the voice
    does not know are skipped (as Piper does)."""
    id_map = config.phoneme_id_map
    ids = [*id_map[BOS], *id_map[PAD]]
    missing: set[str] = set()
    for phoneme in phoneme_list(ipa_text, config):
        found = id_map.get(phoneme)
        if found is None:
            missing.add(phoneme)
            continue
        ids.extend(found)
        ids.extend(id_map[PAD])
    ids.extend(id_map[EOS])
    if missing:
        log.debug("voice has no id for phonemes %s; skipped", sorted(missing))
    return ids


def _merge_clusters(phonemes: list[str], clusters: set[tuple[str, ...]]) -> list[str]:
    longest = max(len(c) for c in clusters)
    out: list[str] = []
    index = 0
    while index < len(phonemes):
        for size in range(min(longest, len(phonemes) - index), 1, -1):
            candidate = tuple(phonemes[index : index + size])
            if candidate in clusters:
                out.append("".join(candidate))
                index += size
                break
        else:
            out.append(phonemes[index])
            index += 1
    return out


def text_sentences(text: str) -> list[str]:
    """Sentences for a voice whose phonemes are the text's own characters (phoneme_type 'text')."""
    return [" ".join(text.split())] if text.strip() else []


def phoneme_count(ipa_word: str) -> int:
    """How many sounds an IPA word has: code points, less stress and length marks and combining marks."""
    return sum(
        1
        for c in unicodedata.normalize("NFD", _LANGUAGE_SWITCH.sub("", ipa_word))
        if c not in _STRESS_AND_LENGTH and not unicodedata.combining(c) and not c.isspace()
    )


def build_espeak_ipa_args(espeak_voice: str, *, line_clauses: bool = False) -> list[str]:
    """espeak-ng args that print a text's IPA, one clause per line, from stdin (no audio).

    With line_clauses, every input line is a clause of its own (one word per line gives one IPA per word).
    """
    args = ["espeak-ng", "-q", "--ipa", "-v", espeak_voice]
    if line_clauses:
        args += ["-l", "100000"]
    return [*args, "--stdin"]
