"""Caption fonts: a bold sans face per language (DejaVu, Noto CJK/Arabic/Devanagari), found on disk or
through fontconfig, and whether a face draws a character."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from nexus_core.media.runner import MediaCommandError, MissingToolError, run_command
from nexus_core.models import Language

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
def layout_engine() -> ImageFont.Layout:
    """RAQM (HarfBuzz shaping, FriBiDi direction: Arabic joining, Devanagari conjuncts) when Pillow has it."""
    from PIL import features

    return ImageFont.Layout.RAQM if features.check_feature("raqm") else ImageFont.Layout.BASIC


def load_font(face: FontFace | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The face at `size` pixels, laid out by RAQM when available; Pillow's own font without a face."""
    if face is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(face.path, size, index=face.index, layout_engine=layout_engine())


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
