"""Subtitle cues from dialogue or word timings, SRT/WebVTT text, and burned-in caption patches."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nexus_core.media.runner import MediaCommandError, MissingToolError, run_command
from nexus_core.models import WordTiming

MAX_CHARS = 42
MAX_LINES = 2
GAP_S = 0.04  # between consecutive cues, so players never show two at once
LINGER_S = 0.3  # a word-timed cue stays this long after its last word, if the next one allows
PAUSE_S = 0.7  # a silence this long between words always starts a new cue

# Costs for splitting text into cues: fewer cues, breaks at sentence ends, then clauses, even filling.
CUE_COST = 20.0
CLAUSE_BREAK_COST = 10.0
WORD_BREAK_COST = 40.0
SLACK_COST = 10.0

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”’)\]]*$")
_CLAUSE_END = re.compile(r"[,;:–—]+[\"'»”’)\]]*$|^[–—-]+$")


@dataclass(frozen=True)
class Cue:
    """One caption: shown from start_s to end_s (seconds), one to a few lines."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


# --- splitting text into cues and lines ---------------------------------------------------------------


def _tokens(text: str, max_chars: int) -> list[str]:
    """Words of `text`; a word longer than a line is cut into line-sized pieces."""
    out: list[str] = []
    for word in text.split():
        out.extend(word[i : i + max_chars] for i in range(0, len(word), max_chars))
    return out


def _greedy_lines(words: Sequence[str], max_chars: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > max_chars:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def wrap_lines(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Greedy word wrap to lines of at most `max_chars` (over-long words are cut)."""
    return _greedy_lines(_tokens(text, max_chars), max_chars)


def _break_penalty(word: str) -> float:
    if _SENTENCE_END.search(word):
        return 0.0
    if _CLAUSE_END.search(word):
        return CLAUSE_BREAK_COST
    return WORD_BREAK_COST


def _layout(words: Sequence[str], max_chars: int, max_lines: int) -> tuple[str, ...]:
    """Lines for one cue: one line if it fits, else balanced lines broken at clauses when possible."""
    text = " ".join(words)
    if len(text) <= max_chars:
        return (text,)
    if max_lines != 2:
        return tuple(_greedy_lines(words, max_chars))
    best: tuple[float, int] | None = None
    for k in range(1, len(words)):
        top, bottom = " ".join(words[:k]), " ".join(words[k:])
        if len(top) > max_chars or len(bottom) > max_chars:
            continue
        score = max(len(top), len(bottom)) + _break_penalty(words[k - 1]) / 5
        if best is None or score < best[0]:
            best = (score, k)
    if best is None:
        return tuple(_greedy_lines(words, max_chars))
    k = best[1]
    return (" ".join(words[:k]), " ".join(words[k:]))


def _fits(words: Sequence[str], max_chars: int, max_lines: int) -> bool:
    return len(_greedy_lines(words, max_chars)) <= max_lines


def _chunk(words: Sequence[str], max_chars: int, max_lines: int) -> list[tuple[int, int]]:
    """Split words into the fewest cues that fit, preferring sentence then clause breaks, evenly filled."""
    n = len(words)
    capacity = max_chars * max_lines
    inf = float("inf")
    cost = [0.0] + [inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        start = end - 1
        chars = len(words[start])
        while start >= 0 and _fits(words[start:end], max_chars, max_lines):
            if cost[start] < inf:
                slack = (capacity - chars) / capacity
                piece = CUE_COST + SLACK_COST * slack * slack
                piece += 0.0 if end == n else _break_penalty(words[end - 1])
                if cost[start] + piece < cost[end]:
                    cost[end], back[end] = cost[start] + piece, start
            start -= 1
            if start >= 0:
                chars += 1 + len(words[start])
    spans: list[tuple[int, int]] = []
    end = n
    while end > 0:
        spans.append((back[end], end))
        end = back[end]
    return spans[::-1]


def split_phrases(text: str, *, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> list[str]:
    """The caption-sized pieces of a line, split as its cues would be (sentence, then clause breaks first).

    A voice that speaks a line piece by piece uses these, so every cue starts on measured speech.
    """
    words = _tokens(text, max_chars)
    return [" ".join(words[a:b]) for a, b in _chunk(words, max_chars, max_lines)] if words else []


def cues_for_dialogue(
    text: str,
    *,
    start_s: float,
    duration_s: float,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
) -> list[Cue]:
    """Cues over a voice of `duration_s` starting at `start_s`, each timed by its share of the characters."""
    words = _tokens(text, max_chars)
    if not words or duration_s <= 0:
        return []
    spans = _chunk(words, max_chars, max_lines)
    sizes = [len(" ".join(words[a:b])) for a, b in spans]
    total = float(sum(sizes))
    cues: list[Cue] = []
    done = 0
    for index, ((a, b), size) in enumerate(zip(spans, sizes, strict=True)):
        begin = start_s + duration_s * done / total
        done += size
        end = start_s + duration_s * done / total
        if index < len(spans) - 1:
            end -= min(GAP_S, (end - begin) * 0.1)
        cues.append(Cue(round(begin, 3), round(end, 3), _layout(words[a:b], max_chars, max_lines)))
    return cues


def cues_from_words(
    words: Sequence[WordTiming],
    *,
    offset_s: float = 0.0,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
) -> list[Cue]:
    """Cues timed from real word timings (relative to the voice), shifted by `offset_s`."""
    timed = [(piece, w) for w in words for piece in _tokens(w.word, max_chars)]
    if not timed:
        return []
    groups: list[list[tuple[str, WordTiming]]] = [[timed[0]]]
    for prev, cur in itertools.pairwise(timed):
        if cur[1].start_s - prev[1].end_s >= PAUSE_S:
            groups.append([])
        groups[-1].append(cur)
    spans: list[list[tuple[str, WordTiming]]] = []
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
        cues.append(Cue(round(begin, 3), round(end, 3), _layout([t for t, _ in span], max_chars, max_lines)))
    return cues


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
FONT_SCALE = 0.055  # font size as a share of the frame's short side
SAFE_MARGIN = 0.06  # bottom and side margin as a share of the frame height / width
BOX_ALPHA = 165  # the translucent box behind the text (0-255)
LINE_SPACING = 1.12
_AVERAGE_LINE = "Sphinx of black quartz, judge my vow. Όλα Жизнь"


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


class SubtitleRenderer:
    """Renders each cue once to an RGBA patch (bottom-centred, white on a dark box); blends it cheaply."""

    def __init__(self, width: int, height: int, font_path: str | None = None) -> None:
        self.width, self.height = width, height
        self.font_path = find_font(font_path)
        short = min(width, height)
        self.margin_x = max(4, round(width * SAFE_MARGIN))
        self.margin_bottom = max(4, round(height * SAFE_MARGIN))
        self.max_text_width = width - 2 * self.margin_x
        size = max(10, round(short * FONT_SCALE))
        probe = self._font(100)
        line_100 = probe.getlength(_AVERAGE_LINE) / len(_AVERAGE_LINE) * MAX_CHARS
        self.font_size = max(8, min(size, int(self.max_text_width * 0.92 / line_100 * 100)))
        self._patches: dict[tuple[str, ...], SubtitlePatch] = {}
        self._blend_cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def _font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if self.font_path:
            return ImageFont.truetype(self.font_path, size)
        return ImageFont.load_default(size)

    def patch(self, cue: Cue | Sequence[str]) -> SubtitlePatch:
        """The cue's rendered patch, made on first use and cached."""
        lines = tuple(cue.lines) if isinstance(cue, Cue) else tuple(cue)
        with self._lock:
            found = self._patches.get(lines)
            if found is None:
                found = self._patches[lines] = self._render(lines)
            return found

    def _render(self, lines: tuple[str, ...]) -> SubtitlePatch:
        size = self.font_size
        font = self._font(size)
        widest = max((font.getlength(line) for line in lines), default=0.0)
        if widest > self.max_text_width:
            size = max(6, int(size * self.max_text_width / widest))
            font = self._font(size)
            widest = max(font.getlength(line) for line in lines)
        stroke = max(1, round(size / 11))
        pad_x, pad_y = round(size * 0.45) + stroke, round(size * 0.22) + stroke
        ascent, descent = font.getmetrics() if isinstance(font, ImageFont.FreeTypeFont) else (size, size // 4)
        step = round((ascent + descent) * LINE_SPACING)
        box_w = _even(min(self.width, round(widest) + 2 * pad_x))
        box_h = _even(min(self.height, step * (len(lines) - 1) + ascent + descent + 2 * pad_y))
        fill = Image.new("L", (box_w, box_h), 0)
        outline = Image.new("L", (box_w, box_h), 0)
        box = Image.new("L", (box_w, box_h), 0)
        ImageDraw.Draw(box).rounded_rectangle(
            (0, 0, box_w - 1, box_h - 1), radius=max(2, size // 4), fill=BOX_ALPHA
        )
        draw_fill, draw_outline = ImageDraw.Draw(fill), ImageDraw.Draw(outline)
        for index, line in enumerate(lines):
            origin = (box_w / 2, pad_y + ascent + index * step)
            draw_outline.text(origin, line, font=font, fill=255, anchor="ms", stroke_width=stroke)
            draw_fill.text(origin, line, font=font, fill=255, anchor="ms")
        white = np.asarray(fill, dtype=np.uint8)
        alpha = np.maximum(np.asarray(box, dtype=np.uint8), np.asarray(outline, dtype=np.uint8))
        # Straight alpha: colour is white inside the glyphs, black in the outline and the box.
        luma = np.minimum(white.astype(np.uint16) * 255 // np.maximum(alpha, 1), 255).astype(np.uint8)
        rgba = np.dstack([luma, luma, luma, alpha])
        x = _even((self.width - box_w) / 2)
        y = _even(self.height - self.margin_bottom - box_h)
        return SubtitlePatch(rgba=rgba, x=max(0, x), y=max(0, y))

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
