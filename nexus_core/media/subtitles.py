"""Subtitle cues from dialogue or word timings, SRT/WebVTT text, and burned-in caption patches."""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nexus_core.languages import Script, detect_script, detect_script_language
from nexus_core.media.runner import MediaCommandError, MissingToolError, run_command
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
def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """How wide `text` is in cells: a CJK character or emoji counts two, a combining mark none, others one."""
    return sum(_char_width(ch) for ch in text)


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
        if joins_run or (pieces and _char_width(ch) == 0):
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
        w = _char_width(ch)
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
        end = max(span[-1][1].end_s + offset_s, begin + 0.1) + LINGER_S
        if index < len(spans) - 1:
            end = min(end, spans[index + 1][0][1].start_s + offset_s - GAP_S)
        end = max(end, begin + 0.05)
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
        end = phrase.end_s + offset_s + LINGER_S
        if index + 1 < len(phrases):
            end = min(end, phrases[index + 1].start_s + offset_s - GAP_S)
        end = max(end, begin + 0.05)
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


# --- burned-in captions -------------------------------------------------------------------------------

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",  # Fedora
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",  # Alpine, older Fedora
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",  # Arch
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
    "/opt/homebrew/share/fonts/DejaVuSans-Bold.ttf",
    "/Library/Fonts/DejaVuSans-Bold.ttf",
)
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",  # Debian, Ubuntu (fonts-noto-cjk)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",  # Arch (noto-fonts-cjk)
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",  # Fedora
)
ARABIC_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",  # Debian, Ubuntu (fonts-noto-core)
    "/usr/share/fonts/noto/NotoSansArabic-Bold.ttf",  # Arch (noto-fonts)
    "/usr/share/fonts/google-noto/NotoSansArabic-Bold.ttf",  # Fedora
)
DEVANAGARI_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",  # Debian, Ubuntu (fonts-noto-core)
    "/usr/share/fonts/noto/NotoSansDevanagari-Bold.ttf",  # Arch (noto-fonts)
    "/usr/share/fonts/google-noto/NotoSansDevanagari-Bold.ttf",  # Fedora
)


@dataclass(frozen=True)
class LanguageFont:
    """Where a language's caption font is: known paths, the face to pick in a .ttc (by a word of its
    family name: "SC" in "Noto Sans CJK SC"), the fontconfig language tag, a letter it must draw."""

    candidates: tuple[str, ...]
    family_word: str
    fontconfig_lang: str
    probe: str


# Latin, Greek and Cyrillic languages use DejaVu Sans Bold (FONT_CANDIDATES).
LANGUAGE_FONTS: dict[Language, LanguageFont] = {
    Language.ZH: LanguageFont(CJK_FONT_CANDIDATES, "SC", "zh-cn", "蜜"),
    Language.JA: LanguageFont(CJK_FONT_CANDIDATES, "JP", "ja", "あ"),
    Language.AR: LanguageFont(ARABIC_FONT_CANDIDATES, "", "ar", "ب"),
    Language.HI: LanguageFont(DEVANAGARI_FONT_CANDIDATES, "", "hi", "क"),
}
FONT_SCALE = 0.055  # landscape: font size as a share of the frame's short side (42 cells must fit)
PORTRAIT_FONT_SCALE = 0.05  # portrait and square: font size as a share of the frame width
SAFE_MARGIN = 0.06  # bottom and side margin as a share of the frame height / width
LINE_FILL = 0.92  # share of the text width a full line of average text may take
BOX_ALPHA = 165  # the translucent box behind the text (0-255)
HIGHLIGHT_RGB = (255, 214, 10)  # karaoke: the word being spoken
LINE_SPACING = 1.12
_AVERAGE_LINE = "Sphinx of black quartz, judge my vow. Όλα Жизнь"
# A line of ordinary text per script, to measure how wide a cell of it is in its font.
_AVERAGE_LINES: dict[Language, str] = {
    Language.ZH: "蜜蜂用舞蹈告诉同伴花在哪里，距离有多远。",
    Language.JA: "ミツバチはダンスで仲間に花の場所を伝えます。",
    Language.AR: "يتواصل النحل بالرقص ليدل رفاقه على مكان الزهور",
    Language.HI: "मधुमक्खियाँ नाचकर बताती हैं कि फूल कहाँ हैं",
}
_RTL_SCRIPTS = frozenset({Script.ARABIC, Script.HEBREW, Script.SYRIAC, Script.THAANA})
_NOT_A_CHARACTER = "\u0378"  # unassigned: every font draws its .notdef box for it


@dataclass(frozen=True)
class FontFace:
    """A font file and the face inside it (a .ttc collection holds several)."""

    path: str
    index: int = 0


@lru_cache(maxsize=8)
def find_font(preferred: str | None = None) -> str | None:
    """A bold sans font with Latin, Greek and Cyrillic: `preferred`, known paths, then fc-match."""
    for candidate in (preferred, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    try:
        found = run_command(["fc-match", "-f", "%{file}", "DejaVu Sans:style=Bold"], timeout=10).strip()
    except (MissingToolError, MediaCommandError, OSError):
        return None
    return found if found and Path(found).is_file() else None


@lru_cache(maxsize=1)
def _layout_engine() -> ImageFont.Layout:
    """RAQM (HarfBuzz shaping, FriBiDi direction: Arabic joining, Devanagari conjuncts) when Pillow has it."""
    from PIL import features

    return ImageFont.Layout.RAQM if features.check_feature("raqm") else ImageFont.Layout.BASIC


def load_font(face: FontFace | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The face at `size` pixels, laid out by RAQM when available; Pillow's own font without a face."""
    if face is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(face.path, size, index=face.index, layout_engine=_layout_engine())


def _face_in(path: str, family_word: str) -> FontFace | None:
    """The face of `path` whose family name has `family_word` ("SC" picks Noto Sans CJK SC), not Mono."""
    if not family_word:
        return FontFace(path)
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            return None
        if family_word in family.split() and "Mono" not in family:
            return FontFace(path, index)
    return None


_COVER_LOCK = threading.Lock()


@lru_cache(maxsize=16)
def _probe_font(face: FontFace) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return load_font(face, 32)


@lru_cache(maxsize=16384)
def covers(face: FontFace | None, char: str) -> bool:
    """Whether the face draws `char` as a glyph of its own rather than its .notdef box."""
    if face is None:
        return True
    with _COVER_LOCK:
        font = _probe_font(face)
        notdef = font.getmask(_NOT_A_CHARACTER)
        mask = font.getmask(char)
        return (mask.getbbox(), bytes(mask)) != (notdef.getbbox(), bytes(notdef))


def _fontconfig_face(lang: str) -> FontFace | None:
    try:
        found = run_command(
            ["fc-match", "-f", "%{file}\t%{index}", f"sans-serif:lang={lang}:weight=bold"], timeout=10
        ).strip()
    except (MissingToolError, MediaCommandError, OSError):
        return None
    path, _, index = found.partition("\t")
    return FontFace(path, int(index or 0)) if path and Path(path).is_file() else None


@lru_cache(maxsize=16)
def find_font_for(language: Language | None) -> FontFace | None:
    """The caption font for a language: DejaVu Sans Bold for Latin, Greek and Cyrillic; Noto Sans CJK SC or
    JP Bold for zh, ja; Noto Sans Arabic Bold for ar; Noto Sans Devanagari Bold for hi. Known paths first,
    then fc-match by language; a font is taken only if it draws the language's letters. None: no font."""
    wanted = LANGUAGE_FONTS.get(language) if language is not None else None
    if wanted is None:
        path = find_font()
        return FontFace(path) if path else None
    for path in wanted.candidates:
        face = _face_in(path, wanted.family_word) if Path(path).is_file() else None
        if face is not None and covers(face, wanted.probe):
            return face
    face = _fontconfig_face(wanted.fontconfig_lang)
    return face if face is not None and covers(face, wanted.probe) else None


def _cell_px(language: Language | None, size: int) -> float:
    """How wide one cell of ordinary text in `language` is at `size` pixels, in its caption font."""
    face = find_font_for(language)
    sample = _AVERAGE_LINES.get(language, _AVERAGE_LINE) if language is not None else _AVERAGE_LINE
    if face is None:
        face, sample = find_font_for(None), _AVERAGE_LINE
    font = load_font(face, size)
    return font.getlength(sample) / text_width(sample)


@dataclass(frozen=True)
class CaptionLayout:
    """How captions sit in one frame size: the font size, the text area, and how much text a cue holds.

    Voices split their lines with split_phrases(text, max_chars=..., max_lines=...) from this same layout,
    so each spoken phrase is one cue.
    """

    font_size: int  # pixels (the em)
    max_chars: int  # per line, in text_width cells (a CJK character counts two)
    max_lines: int
    margin_x: int
    margin_bottom: int
    max_text_width: int  # pixels


@lru_cache(maxsize=64)
def caption_layout(width: int, height: int, language: Language | None = None) -> CaptionLayout:
    """The caption layout of a `width` x `height` frame.

    Landscape keeps 42 cells by 2 lines at 5.5% of the short side (less if 42 average cells would not fit).
    Portrait and square frames are seen on a phone held upright, where the width is all there is: the font
    is 5% of the width (36 px at 720x1280, 18 px at 360x640) and a cue holds fewer cells per line (what
    fits at that size, about 26 for Latin text at 9:16) on up to 3 lines.
    """
    margin_x = max(4, round(width * SAFE_MARGIN))
    margin_bottom = max(4, round(height * SAFE_MARGIN))
    text_px = width - 2 * margin_x
    if width > height:
        size = max(10, round(min(width, height) * FONT_SCALE))
        latin_line_100 = _cell_px(None, 100) * MAX_CHARS
        size = max(8, min(size, int(text_px * LINE_FILL / latin_line_100 * 100)))
        lines = MAX_LINES
    else:
        size = max(10, round(width * PORTRAIT_FONT_SCALE))
        lines = PORTRAIT_MAX_LINES
    fits = int(text_px * LINE_FILL / (_cell_px(language, 100) * size / 100))
    max_chars = max(MIN_CHARS, min(MAX_CHARS, fits))
    return CaptionLayout(size, max_chars, lines, margin_x, margin_bottom, text_px)


@dataclass(frozen=True)
class SubtitlePatch:
    """A rendered caption: RGBA pixels (straight alpha) placed at (x, y) in the frame; x, y, w, h even."""

    rgba: np.ndarray
    x: int
    y: int

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])


@dataclass(frozen=True)
class _Run:
    """A piece of a line drawn in one face and one direction; `space_before`: a space separates it from
    the run before it (logically)."""

    text: str
    face: FontFace | None
    rtl: bool
    space_before: bool


def _is_rtl(text: str) -> bool:
    return detect_script(text) in _RTL_SCRIPTS


class SubtitleRenderer:
    """Renders each cue once to an RGBA patch (bottom-centred, white on a dark box); blends it cheaply.

    The font follows `language` (see find_font_for); with no language, each cue's script picks it. Letters
    the font lacks (a Latin brand name in Hindi) are drawn in the first caption font that has them; Arabic
    and Hebrew lines run right to left.
    """

    def __init__(
        self, width: int, height: int, font_path: str | None = None, language: Language | None = None
    ) -> None:
        self.width, self.height, self.language = width, height, language
        self.layout = caption_layout(width, height, language)
        self.margin_x, self.margin_bottom = self.layout.margin_x, self.layout.margin_bottom
        self.max_text_width = self.layout.max_text_width
        self.font_size = self.layout.font_size
        preferred = font_path if font_path and Path(font_path).is_file() else None
        self._fixed_face = FontFace(preferred) if preferred else None
        self.face = self._fixed_face or find_font_for(language) or find_font_for(None)
        self.font_path = self.face.path if self.face else None
        self._fonts: dict[tuple[FontFace | None, int], ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
        self._patches: dict[tuple[tuple[str, ...], int | None], SubtitlePatch] = {}
        self._blend_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_cues(cls, width: int, height: int, cues: Sequence[Cue]) -> SubtitleRenderer:
        """A renderer in the cues' language (the one they carry, else the one their script points at)."""
        return cls(width, height, language=cues_language(cues))

    def _font(self, face: FontFace | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        font = self._fonts.get((face, size))
        if font is None:
            font = self._fonts[(face, size)] = load_font(face, size)
        return font

    def _primary(self, lines: tuple[str, ...]) -> FontFace | None:
        if self._fixed_face is not None or self.language is not None:
            return self.face
        detected = detect_script_language(" ".join(lines))
        return (find_font_for(detected) if detected is not None else None) or self.face

    def _fallbacks(self, primary: FontFace | None) -> list[FontFace | None]:
        faces = [primary, find_font_for(None), *(find_font_for(lang) for lang in LANGUAGE_FONTS)]
        return list(dict.fromkeys(f for f in faces if f is not None)) or [None]

    def _runs(self, line: str, primary: FontFace | None) -> list[_Run]:
        """The line cut into runs of one face each: the primary face wherever it has the letter."""
        chain = self._fallbacks(primary)
        texts: list[str] = []
        faces: list[FontFace | None] = []
        for ch in line:
            if texts:
                current = faces[-1]
                neutral = ch.isspace() or _char_width(ch) == 0
                is_letter = unicodedata.category(ch).startswith("L")
                if neutral or (covers(current, ch) and (current == primary or not is_letter)):
                    texts[-1] += ch
                    continue
            face = next((f for f in chain if covers(f, ch)), primary)
            if faces and faces[-1] == face:
                texts[-1] += ch
            else:
                texts.append(ch)
                faces.append(face)
        runs: list[_Run] = []
        for index, (text, face) in enumerate(zip(texts, faces, strict=True)):
            stripped = text.strip()
            if stripped:
                spaced = text[0].isspace() or (index > 0 and texts[index - 1][-1].isspace())
                runs.append(_Run(stripped, face, _is_rtl(stripped), bool(runs) and spaced))
        return runs

    @staticmethod
    def _direction(run: _Run) -> str | None:
        if _layout_engine() is not ImageFont.Layout.RAQM:
            return None  # the basic layout cannot reorder; Arabic then shows unjoined, left to right
        return "rtl" if run.rtl else "ltr"

    def _measure(self, runs: list[_Run], size: int) -> list[float]:
        """Advance widths of each run and of the spaces between them, in drawing order."""
        widths: list[float] = []
        for index, run in enumerate(runs):
            font = self._font(run.face, size)
            if index:
                space = min(font.getlength(" "), self._font(runs[index - 1].face, size).getlength(" "))
                widths.append(space if run.space_before else 0.0)
            widths.append(font.getlength(run.text, direction=self._direction(run)))
        return widths

    def _line_width(self, runs: list[_Run], size: int) -> float:
        return sum(self._measure(runs, size))

    def patch(self, cue: Cue | Sequence[str], highlight: int | None = None) -> SubtitlePatch:
        """The cue's rendered patch, made on first use and cached; `highlight` colours that word (karaoke)."""
        lines = tuple(cue.lines) if isinstance(cue, Cue) else tuple(cue)
        with self._lock:
            found = self._patches.get((lines, highlight))
            if found is None:
                found = self._patches[(lines, highlight)] = self._render(lines, highlight)
            return found

    def _render(self, lines: tuple[str, ...], highlight: int | None = None) -> SubtitlePatch:
        primary = self._primary(lines)
        size = self.font_size
        line_runs = [self._runs(line, primary) for line in lines]
        widest = max((self._line_width(runs, size) for runs in line_runs), default=0.0)
        if widest > self.max_text_width:
            size = max(6, int(size * self.max_text_width / widest))
            widest = max(self._line_width(runs, size) for runs in line_runs)
        stroke = max(1, round(size / 11))
        pad_x, pad_y = round(size * 0.45) + stroke, round(size * 0.22) + stroke
        ascent, descent = self._extents(line_runs, size)
        step = round((ascent + descent) * LINE_SPACING)
        box_w = _even(min(self.width, round(widest) + 2 * pad_x))
        box_h = _even(min(self.height, step * (len(lines) - 1) + ascent + descent + 2 * pad_y))
        fill = Image.new("L", (box_w, box_h), 0)
        outline = Image.new("L", (box_w, box_h), 0)
        box = Image.new("L", (box_w, box_h), 0)
        ImageDraw.Draw(box).rounded_rectangle(
            (0, 0, box_w - 1, box_h - 1), radius=max(2, size // 4), fill=BOX_ALPHA
        )
        marked = Image.new("L", (box_w, box_h), 0)
        draw_fill, draw_outline, draw_marked = ImageDraw.Draw(fill), ImageDraw.Draw(outline), ImageDraw.Draw(marked)
        first_word = 0
        for index, runs in enumerate(line_runs):
            baseline = pad_y + ascent + index * step
            self._draw_line((draw_outline, draw_fill), runs, box_w / 2, baseline, size, stroke)
            words = len(lines[index].split())
            if highlight is not None and first_word <= highlight < first_word + words:
                self._mark_word(draw_marked, runs, highlight - first_word, box_w / 2, baseline, size)
            first_word += words
        white = np.asarray(fill, dtype=np.uint8)
        alpha = np.maximum(np.asarray(box, dtype=np.uint8), np.asarray(outline, dtype=np.uint8))
        # Straight alpha: colour is white inside the glyphs (the spoken word in karaoke yellow), black in
        # the outline and the box.
        luma = np.minimum(white.astype(np.uint16) * 255 // np.maximum(alpha, 1), 255).astype(np.uint8)
        tint = np.asarray(marked, dtype=np.uint16)[..., None]
        colour = (255 * (255 - tint) + np.asarray(HIGHLIGHT_RGB, np.uint16) * tint) // 255
        rgb = (luma[..., None].astype(np.uint16) * colour // 255).astype(np.uint8)
        rgba = np.dstack([rgb, alpha])
        x = _even((self.width - box_w) / 2)
        y = _even(self.height - self.margin_bottom - box_h)
        return SubtitlePatch(rgba=rgba, x=max(0, x), y=max(0, y))

    def _extents(self, line_runs: list[list[_Run]], size: int) -> tuple[int, int]:
        """Ascent and descent of a line: the Latin font's, or more where these glyphs reach further.

        Fonts' own line metrics differ a lot (Noto Sans Arabic's are 2.1 em, DejaVu's 1.16 em); the ink
        keeps the box and the line spacing alike across languages.
        """
        latin = self._font(find_font_for(None), size)
        ascent, descent = latin.getmetrics() if isinstance(latin, ImageFont.FreeTypeFont) else (size, size // 4)
        for run in (run for runs in line_runs for run in runs):
            font = self._font(run.face, size)
            _, top, _, bottom = font.getbbox(run.text, anchor="ls", direction=self._direction(run))
            ascent, descent = max(ascent, -int(top)), max(descent, int(bottom))
        return ascent, descent

    def _draw_line(
        self,
        draws: tuple[ImageDraw.ImageDraw, ImageDraw.ImageDraw],
        runs: list[_Run],
        centre_x: float,
        baseline: float,
        size: int,
        stroke: int,
    ) -> None:
        """Draw the runs centred on `centre_x`, left to right, or right to left in an RTL line."""
        widths = self._measure(runs, size)
        x = centre_x - sum(widths) / 2
        line_rtl = _is_rtl(" ".join(run.text for run in runs))
        # Run i sits at widths[2i] after its gap widths[2i - 1]; an RTL line places the first run rightmost.
        placed = [(run, widths[2 * i], widths[2 * i - 1] if i else 0.0) for i, run in enumerate(runs)]
        order = placed[::-1] if line_rtl else placed
        for position, (run, advance, gap) in enumerate(order):
            if position:
                x += order[position - 1][2] if line_rtl else gap
            font = self._font(run.face, size)
            direction = self._direction(run)
            draws[0].text(
                (x, baseline), run.text, font=font, fill=255, anchor="ls", stroke_width=stroke, direction=direction
            )
            draws[1].text((x, baseline), run.text, font=font, fill=255, anchor="ls", direction=direction)
            x += advance

    def _mark_word(
        self, draw: ImageDraw.ImageDraw, runs: list[_Run], word: int, centre_x: float, baseline: float, size: int
    ) -> None:
        """Draw word `word` of a left-to-right line where _draw_line put it (karaoke's colour mask).

        Lines that mix faces or run right to left keep one colour: their word positions are not simple
        prefixes of the line.
        """
        if len(runs) != 1 or runs[0].rtl:
            return
        run = runs[0]
        font = self._font(run.face, size)
        x = centre_x - font.getlength(run.text) / 2
        words = run.text.split(" ")
        if word >= len(words):
            return
        prefix = " ".join(words[:word]) + (" " if word else "")
        draw.text((x + font.getlength(prefix), baseline), words[word], font=font, fill=255, anchor="ls")

    def blend(self, frame: np.ndarray, cue: Cue | Sequence[str]) -> None:
        """Blend the cue onto an RGB uint8 frame in place, touching only the patch's bounding box."""
        lines = tuple(cue.lines) if isinstance(cue, Cue) else tuple(cue)
        patch = self.patch(lines)
        cached = self._blend_cache.get(lines)
        if cached is None:
            alpha = patch.rgba[..., 3:4].astype(np.uint16)
            cached = (patch.rgba[..., :3].astype(np.uint16) * alpha + 127, 255 - alpha)
            self._blend_cache[lines] = cached
        premultiplied, inverse = cached
        roi = frame[patch.y : patch.y + patch.height, patch.x : patch.x + patch.width]
        roi[...] = (roi.astype(np.uint16) * inverse + premultiplied) // 255


def _even(value: float) -> int:
    return int(value) // 2 * 2


def cue_at(cues: Sequence[Cue], t: float) -> Cue | None:
    """The cue showing at time `t` (start inclusive, end exclusive), if any."""
    for cue in cues:
        if cue.start_s <= t < cue.end_s:
            return cue
    return None
