"""Burned-in captions: the caption layout of a frame and the RGBA patch of each cue (karaoke too)."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nexus_core.languages import Script, detect_script, detect_script_language
from nexus_core.media.fonts import LANGUAGE_FONTS, FontFace, covers, find_font_for, layout_engine, load_font
from nexus_core.media.subtitles import (
    MAX_CHARS,
    MAX_LINES,
    MIN_CHARS,
    PORTRAIT_MAX_LINES,
    Cue,
    char_width,
    cues_language,
    text_width,
)
from nexus_core.models import Language

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
                neutral = ch.isspace() or char_width(ch) == 0
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
        if layout_engine() is not ImageFont.Layout.RAQM:
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
