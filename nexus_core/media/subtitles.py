"""Subtitle cues from dialogue or word timings, SRT/WebVTT text, and burned-in caption patches."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from nexus_core.languages import detect_script_language
from nexus_core.models import Language, SpokenPhrase, WordTiming

MAX_CHARS = 42  # per line in a landscape frame, in text_width cells (a CJK character counts two)
MAX_LINES = 2  # lines per cue in a landscape frame
PORTRAIT_MAX_LINES = 3  # lines per cue when the frame is no wider than tall (captions are narrower)
MIN_CHARS = 12  # never fewer cells per line, whatever the frame
GAP_S = 0.04  # between consecutive cues, so players never show two at once
LINGER_S = 0.3  # a word-timed cue stays this long after its last word, if the next one allows
PAUSE_S = 0.7  # a silence this long between words always starts a new cue

# Costs for splitting text into cues: fewer cues, breaks at sentence ends, then clauses, even filling.
CUE_COST = 20.0
CLAUSE_BREAK_COST = 10.0
WORD_BREAK_COST = 40.0
SLACK_COST = 10.0

_CLOSERS = "\"'»”’)\\]」』）】〕〉》"
_SENTENCE_END = re.compile(rf"[.!?…。！？।॥؟]+[{_CLOSERS}]*$")
_CLAUSE_END = re.compile(rf"[,;:–—，、；：،؛]+[{_CLOSERS}]*$|^[–—-]+$")

# Kinsoku: characters a line must not start with (closing punctuation, small kana, the prolonged sound
# mark) stay on the character before them; opening brackets stay on the character after them.
_NO_LINE_START = frozenset(
    "、。，．・：；？！‼⁇⁈⁉゛゜ヽヾゝゞ々〻ー゠〜～…‥’”）〕］｝〉》」』】〙〗〟｠»›,.:;!?)]}%‰℃°"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
)
_NO_LINE_END = frozenset("（〔［｛〈《「『【〘〖〝｟«‹‘“([{")
# Blocks written without spaces between words: CJK radicals to Katakana, Bopomofo, CJK ideographs and
# compatibility ideographs, vertical and small forms, fullwidth and halfwidth forms, ideographs beyond the BMP.
_NO_SPACE_BLOCKS = (
    (0x2E80, 0x2FDF), (0x3000, 0x30FF), (0x3100, 0x312F), (0x31A0, 0x31FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x3FFFF),
)


@lru_cache(maxsize=8192)
def _no_space(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _NO_SPACE_BLOCKS)


@lru_cache(maxsize=8192)
def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """How wide `text` is in cells: a CJK character or emoji counts two, a combining mark none, others one."""
    return sum(char_width(ch) for ch in text)


@dataclass(frozen=True)
class Cue:
    """One caption: shown from start_s to end_s (seconds), one to a few lines, in `language` when known."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]
    language: Language | None = None
    words: tuple[float, ...] = ()  # when each space-separated word starts (karaoke); empty when unknown

    @property
    def text(self) -> str:
        return _join([_Token(line, None, 0) for line in self.lines])


def cues_language(cues: Sequence[Cue]) -> Language | None:
    """The language of a scene's cues: the one they carry, else the one their script points at."""
    for cue in cues:
        if cue.language is not None:
            return cue.language
    return detect_script_language(" ".join(cue.text for cue in cues))


# --- splitting text into cues and lines ---------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """A piece of text a line may break after. `space`: whether a space comes before it (None: unknown,
    so none next to a CJK character and one elsewhere); `width` in cells."""

    text: str
    space: bool | None
    width: int


def _gap(prev: _Token, token: _Token) -> str:
    if token.space is None:
        return "" if _no_space(prev.text[-1]) or _no_space(token.text[0]) else " "
    return " " if token.space else ""


def _join(tokens: Sequence[_Token]) -> str:
    if not tokens:
        return ""
    parts = [tokens[0].text]
    for prev, token in itertools.pairwise(tokens):
        parts += (_gap(prev, token), token.text)
    return "".join(parts)


def _span_width(tokens: Sequence[_Token]) -> int:
    return sum(t.width for t in tokens) + sum(len(_gap(a, b)) for a, b in itertools.pairwise(tokens))


def _units(word: str) -> list[str]:
    """A word cut where a line may break: between CJK characters, which need no spaces (kinsoku kept)."""
    if not any(_no_space(ch) for ch in word):
        return [word]
    pieces: list[str] = []
    for ch in word:
        joins_run = pieces and not _no_space(ch) and not _no_space(pieces[-1][-1])
        if joins_run or (pieces and char_width(ch) == 0):
            pieces[-1] += ch
        else:
            pieces.append(ch)
    units: list[str] = []
    for piece in pieces:
        if units and (all(ch in _NO_LINE_START for ch in piece) or all(ch in _NO_LINE_END for ch in units[-1])):
            units[-1] += piece
        else:
            units.append(piece)
    return units


def _cut(unit: str, max_chars: int) -> list[str]:
    """A unit wider than a line cut into line-wide pieces (a combining mark stays with its letter)."""
    if text_width(unit) <= max_chars:
        return [unit]
    pieces: list[str] = []
    current, width = "", 0
    for ch in unit:
        w = char_width(ch)
        if current and w and width + w > max_chars:
            pieces.append(current)
            current, width = "", 0
        current += ch
        width += w
    if current:
        pieces.append(current)
    return pieces


def _tokens(text: str, max_chars: int, *, spaced: bool | None = True) -> list[_Token]:
    """The breakable pieces of `text`: its words, each CJK character (with its punctuation), and pieces
    of over-long words. `spaced`: whether the first piece follows a space (None: unknown)."""
    out: list[_Token] = []
    for index, word in enumerate(text.split()):
        for unit_index, unit in enumerate(_units(word)):
            for piece_index, piece in enumerate(_cut(unit, max_chars)):
                leading = unit_index == 0 and piece_index == 0
                space = (spaced if index == 0 else True) if leading else False
                out.append(_Token(piece, space, text_width(piece)))
    return out


def _greedy_lines(tokens: Sequence[_Token], max_chars: int) -> list[list[_Token]]:
    lines: list[list[_Token]] = []
    current: list[_Token] = []
    width = 0
    for token in tokens:
        if current and width + len(_gap(current[-1], token)) + token.width > max_chars:
            lines.append(current)
            current, width = [], 0
        width += (len(_gap(current[-1], token)) if current else 0) + token.width
        current.append(token)
    if current:
        lines.append(current)
    return lines


def wrap_lines(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Greedy wrap to lines at most `max_chars` cells wide: at spaces, and between CJK characters (never
    before closing punctuation); over-long words are cut."""
    return [_join(line) for line in _greedy_lines(_tokens(text, max_chars), max_chars)]


def _break_penalty(token: _Token) -> float:
    if _SENTENCE_END.search(token.text):
        return 0.0
    if _CLAUSE_END.search(token.text):
        return CLAUSE_BREAK_COST
    return WORD_BREAK_COST


def _layout(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> tuple[str, ...]:
    """Lines for one cue: one line if it fits, else as few lines as greedy wrapping needs (up to three),
    balanced and broken at sentence or clause ends when possible."""
    if _span_width(tokens) <= max_chars:
        return (_join(tokens),)
    greedy = _greedy_lines(tokens, max_chars)
    count = len(greedy)
    if count > min(max_lines, 3):
        return tuple(_join(line) for line in greedy)
    # width(a, b) = ends[b] - ends[a] - gaps[a]: token widths plus the gaps between them, from prefix sums.
    ends = [0]
    gaps = [0] + [len(_gap(a, b)) for a, b in itertools.pairwise(tokens)]
    for token, gap in zip(tokens, gaps, strict=True):
        ends.append(ends[-1] + gap + token.width)
    gaps.append(0)
    best: tuple[float, tuple[int, ...]] | None = None
    for cuts in itertools.combinations(range(1, len(tokens)), count - 1):
        bounds = (0, *cuts, len(tokens))
        widest = max(ends[b] - ends[a] - gaps[a] for a, b in itertools.pairwise(bounds))
        if widest > max_chars:
            continue
        score = widest + sum(_break_penalty(tokens[cut - 1]) for cut in cuts) / 5
        if best is None or score < best[0]:
            best = (score, cuts)
    if best is None:
        return tuple(_join(line) for line in greedy)
    bounds = (0, *best[1], len(tokens))
    return tuple(_join(tokens[a:b]) for a, b in itertools.pairwise(bounds))


def _fits(widths: Sequence[int], gaps: Sequence[int], span: range, max_chars: int, max_lines: int) -> bool:
    """Whether tokens[span] wrap greedily into at most `max_lines` lines (token widths, gaps before them)."""
    lines, line = 1, widths[span.start]
    for i in span[1:]:
        wider = line + gaps[i] + widths[i]
        if wider <= max_chars:
            line = wider
            continue
        lines, line = lines + 1, widths[i]
        if lines > max_lines:
            return False
    return True


def _chunk(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> list[tuple[int, int]]:
    """Split tokens into the fewest cues that fit, preferring sentence then clause breaks, evenly filled."""
    n = len(tokens)
    capacity = max_chars * max_lines
    widths = [t.width for t in tokens]
    gaps = [0] + [len(_gap(a, b)) for a, b in itertools.pairwise(tokens)]
    inf = float("inf")
    cost = [0.0] + [inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        start = end - 1
        chars = tokens[start].width
        while start >= 0 and _fits(widths, gaps, range(start, end), max_chars, max_lines):
            if cost[start] < inf:
                slack = (capacity - chars) / capacity
                piece = CUE_COST + SLACK_COST * slack * slack
                piece += 0.0 if end == n else _break_penalty(tokens[end - 1])
                if cost[start] + piece < cost[end]:
                    cost[end], back[end] = cost[start] + piece, start
            start -= 1
            if start >= 0:
                chars += widths[start] + gaps[start + 1]
    spans: list[tuple[int, int]] = []
    end = n
    while end > 0:
        spans.append((back[end], end))
        end = back[end]
    return spans[::-1]


def split_phrases(text: str, *, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """The caption-sized pieces of a line, split as its cues would be (sentence, then clause breaks first).

    A voice that speaks a line piece by piece uses these, so every cue starts on measured speech; take
    max_chars and max_lines from caption_layout(width, height, language) so the pieces are the cues.
    Text without spaces (Chinese, Japanese) is split between characters, at 。！？ then ，、 first.
    """
    tokens = _tokens(text, max_chars)
    return [_join(tokens[a:b]) for a, b in _chunk(tokens, max_chars, max_lines)] if tokens else []


def cues_for_dialogue(
    text: str,
    *,
    start_s: float,
    duration_s: float,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
    language: Language | None = None,
) -> list[Cue]:
    """Cues over a voice of `duration_s` starting at `start_s`, each timed by its share of the characters."""
    tokens = _tokens(text, max_chars)
    if not tokens or duration_s <= 0:
        return []
    spans = _chunk(tokens, max_chars, max_lines)
    sizes = [len(_join(tokens[a:b])) for a, b in spans]
    total = float(sum(sizes))
    cues: list[Cue] = []
    done = 0
    for index, ((a, b), size) in enumerate(zip(spans, sizes, strict=True)):
        begin = start_s + duration_s * done / total
        done += size
        end = start_s + duration_s * done / total
        if index < len(spans) - 1:
            end -= min(GAP_S, (end - begin) * 0.1)
        lines = _layout(tokens[a:b], max_chars, max_lines)
        cues.append(Cue(round(begin, 3), round(end, 3), lines, language))
    return cues


def _cue_end(begin: float, speech_end: float, following: float | None) -> float:
    """A timed cue stays LINGER_S after its speech, but ends GAP_S before the next cue begins."""
    end = speech_end + LINGER_S
    if following is not None:
        end = min(end, following - GAP_S)
    return max(end, begin + 0.05)


def cues_from_words(
    words: Sequence[WordTiming],
    *,
    offset_s: float = 0.0,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
    language: Language | None = None,
) -> list[Cue]:
    """Cues timed from real word timings (relative to the voice), shifted by `offset_s`."""
    timed = [(piece, w) for w in words for piece in _tokens(w.word, max_chars, spaced=None)]
    if not timed:
        return []
    groups: list[list[tuple[_Token, WordTiming]]] = [[timed[0]]]
    for prev, cur in itertools.pairwise(timed):
        if cur[1].start_s - prev[1].end_s >= PAUSE_S:
            groups.append([])
        groups[-1].append(cur)
    spans: list[list[tuple[_Token, WordTiming]]] = []
    for group in groups:
        tokens = [t for t, _ in group]
        spans.extend(group[a:b] for a, b in _chunk(tokens, max_chars, max_lines))
    cues: list[Cue] = []
    for index, span in enumerate(spans):
        begin = span[0][1].start_s + offset_s
        following = spans[index + 1][0][1].start_s + offset_s if index < len(spans) - 1 else None
        end = _cue_end(begin, max(span[-1][1].end_s + offset_s, begin + 0.1), following)
        lines = _layout([t for t, _ in span], max_chars, max_lines)
        cues.append(Cue(round(begin, 3), round(end, 3), lines, language))
    return cues


def cues_from_phrases(
    phrases: Sequence[SpokenPhrase],
    *,
    offset_s: float = 0.0,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
    language: Language | None = None,
) -> list[Cue]:
    """One cue per spoken phrase, starting on the phrase's measured onset (shifted by `offset_s`).

    The voice split its line with split_phrases at the same layout, so each phrase fits one cue; a cue
    stays up until just before the next phrase, or LINGER_S after its own speech.
    """
    cues: list[Cue] = []
    for index, phrase in enumerate(phrases):
        tokens = _tokens(phrase.text, max_chars)
        if not tokens:
            continue
        begin = phrase.start_s + offset_s
        following = phrases[index + 1].start_s + offset_s if index + 1 < len(phrases) else None
        end = _cue_end(begin, phrase.end_s + offset_s, following)
        starts = tuple(round(w.start_s + offset_s, 3) for w in phrase.words)
        if len(starts) != len(phrase.text.split()):
            starts = ()
        cues.append(Cue(round(begin, 3), round(end, 3), _layout(tokens, max_chars, max_lines), language, starts))
    return cues


def highlighted_word(cue: Cue, t: float) -> int | None:
    """The index of the word being spoken at clip time `t` in a karaoke cue (None: no word timings)."""
    if not cue.words:
        return None
    spoken = [i for i, start in enumerate(cue.words) if start <= t + 1e-6]
    return spoken[-1] if spoken else 0


# --- caption files ------------------------------------------------------------------------------------


def _timestamp(seconds: float, separator: str) -> str:
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text: 1-based indices, HH:MM:SS,mmm times, a blank line after each cue."""
    blocks = [
        f"{i}\n{_timestamp(c.start_s, ',')} --> {_timestamp(c.end_s, ',')}\n" + "\n".join(c.lines) + "\n"
        for i, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text: the WEBVTT header, HH:MM:SS.mmm times, escaped cue text."""
    blocks = [
        f"{_timestamp(c.start_s, '.')} --> {_timestamp(c.end_s, '.')}\n"
        + "\n".join(_vtt_escape(line) for line in c.lines)
        + "\n"
        for c in cues
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def cue_at(cues: Sequence[Cue], t: float) -> Cue | None:
    """The cue showing at time `t` (start inclusive, end exclusive), if any."""
    for cue in cues:
        if cue.start_s <= t < cue.end_s:
            return cue
    return None
