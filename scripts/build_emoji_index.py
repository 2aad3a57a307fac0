"""Build nexus_core/data/emoji_keywords.json: emoji -> name and keywords, for scene illustrations.

Source: the npm package emojilib 4.0.3 (MIT), whose dist/emoji-en-US.json maps each emoji to its name and
search keywords, listed in Unicode's emoji order (groups: smileys, people, animals & nature, food & drink,
travel & places, activities, objects, symbols, flags), then newer emoji appended at the end. We keep the
emoji that make a scene illustration (animals, plants, food, objects, buildings, places, vehicles, weather,
space, science, tools, music, sport) and that the OpenMoji font draws; people, faces, hands, skin tones,
flags, zodiac signs and other symbols go.

    cd /tmp/wh && npm pack emojilib@4.0.3 && tar xzf emojilib-4.0.3.tgz
    .venv/bin/python scripts/build_emoji_index.py /tmp/wh/package/dist/emoji-en-US.json

The output is committed; nothing reads emojilib at run time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from PIL import ImageFont

from nexus_core.media.illustrations import INDEX_PATH, openmoji_font_path

EMOJILIB_VERSION = "4.0.3"

# The first emoji of each Unicode group, by emojilib name; the group runs to the next one.
GROUP_STARTS = (
    ("smileys", "grinning face"),
    ("people", "waving hand"),
    ("animals", "monkey face"),
    ("food", "grapes"),
    ("places", "globe showing europe africa"),
    ("activities", "jack o lantern"),
    ("objects", "glasses"),
    ("symbols", "atm sign"),
    ("flags", "chequered flag"),
)
LAST_ORDERED = "flag wales"  # later entries are newer emoji in no group order: filtered by name
KEPT_GROUPS = {"animals", "food", "places", "activities", "objects"}
# Illustrations from the dropped groups: body parts for science, a few objects filed under smileys/symbols.
KEEP_NAMES = {
    "robot", "hole", "collision", "bomb", "ghost", "alien", "alien monster", "skull", "sweat droplets",
    "dashing away", "brain", "tooth", "bone", "footprints", "mechanical arm", "radioactive", "biohazard",
    "atom symbol", "medical symbol", "recycling symbol", "chequered flag", "pirate flag", "anatomical heart",
    "lungs",
}  # fmt: skip
# Newer emoji whose name holds one of these words show people, faces, hands or signs.
DROP_NAME_WORDS = {
    "face", "hand", "hands", "person", "man", "woman", "men", "women", "people", "family", "finger",
    "fingers", "lip", "pregnant", "heart", "beard", "tuxedo", "veil", "baby", "claus", "ninja", "troll",
    "head", "symbol", "sign", "flag", "index", "palm", "dancer", "creature", "khanda", "hamsa", "fight",
}  # fmt: skip
# Keywords that are half of another thing's name ("honey badger"): a scene about honey shows bees, not badgers.
MISLEADING_KEYWORDS = {"badger": {"honey"}}
CLOCK_FACE = re.compile(r"(o clock|thirty)$")
KEYWORD = re.compile(r"[^\W\d_][\w' \-.]*")


def groups_by_name(names: list[str]) -> list[str]:
    """The Unicode group of each emoji in emojilib's order; 'new' for the unordered tail."""
    starts = [(names.index(first), group) for group, first in GROUP_STARTS]
    tail = names.index(LAST_ORDERED) + 1
    out = []
    for i in range(len(names)):
        if i >= tail:
            out.append("new")
        else:
            out.append(next(group for start, group in reversed(starts) if i >= start))
    return out


def wanted(name: str, group: str) -> bool:
    """Whether an emoji makes a scene illustration."""
    if name in KEEP_NAMES:
        return True
    if CLOCK_FACE.search(name):
        return False
    if group == "new":
        return not (set(name.split()) & DROP_NAME_WORDS)
    return group in KEPT_GROUPS


class GlyphCheck:
    """Whether the OpenMoji font draws an emoji as one glyph (a ZWJ sequence it lacks shapes as several)."""

    def __init__(self, path: Path) -> None:
        self.font = ImageFont.truetype(str(path), 64, layout_engine=ImageFont.Layout.RAQM)
        self.advance = self.font.getlength("\U0001f41d")  # every OpenMoji glyph has the same advance
        self.notdef = self.font.getbbox("\U0010fffd")

    def __call__(self, emoji: str) -> bool:
        one_glyph = abs(self.font.getlength(emoji) - self.advance) < 0.5
        return one_glyph and self.font.getbbox(emoji) != self.notdef


def clean_keywords(name: str, keywords: list[str]) -> list[str]:
    out: list[str] = []
    for raw in keywords:
        kw = raw.strip().lower().replace("_", " ")
        if KEYWORD.fullmatch(kw) and kw != name and kw not in out and kw not in MISLEADING_KEYWORDS.get(name, ()):
            out.append(kw)
    return out


def build(source: dict[str, list[str]], has_glyph: GlyphCheck) -> dict[str, list[str]]:
    """emoji -> [name, keyword, ...] for the emoji kept."""
    names = [words[0].lower().replace("_", " ") for words in source.values()]
    kept: dict[str, list[str]] = {}
    for (emoji, words), name, group in zip(source.items(), names, groups_by_name(names), strict=True):
        name = name.replace(" s ", "'s ")  # emojilib spells "woman_s_hat"
        if wanted(name, group) and has_glyph(emoji):
            kept[emoji] = [name, *clean_keywords(name, words[1:])]
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("emojilib_json", type=Path, help="emojilib's dist/emoji-en-US.json")
    parser.add_argument("--out", type=Path, default=INDEX_PATH)
    args = parser.parse_args(argv)
    source = json.loads(args.emojilib_json.read_text(encoding="utf-8"))
    kept = build(source, GlyphCheck(openmoji_font_path()))
    doc = {
        "source": f"emojilib {EMOJILIB_VERSION} (MIT), filtered to OpenMoji glyphs; see NOTICE.md",
        "emoji": kept,
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text.replace('"],"', '"],\n"') + "\n", encoding="utf-8")
    print(f"{len(kept)} of {len(source)} emoji, {args.out.stat().st_size / 1024:.0f} KiB -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
