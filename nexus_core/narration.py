"""Spoken English sentences from lexicon entries: "A black hole is a region of space resulting from ..."."""

from __future__ import annotations

import re

from nexus_core.lexicon import LexEntry

# A definition's later clauses ("...; site of annual celebration of New Year's") become sentences only in
# these shapes, which read well after "It is"; other fragments are left out rather than garbled.
_FOLLOW_ON = re.compile(
    r"^(?:site|heart|home|capital|seat|part|center|centre|birthplace|source|symbol|one) of\b|"
    r"^(?:used|often|usually|found|known|named|native|located|noted|famous|characterized)\b"
)
_PARENS = re.compile(r"\s*\(([^()]*)\)")
_VOWEL_SOUND = re.compile(r"^(?:[aeio]|u(?!ni|se|su|ro|ra|ti|bi)|hour|honest|heir)", re.IGNORECASE)
_NO_ARTICLE = frozenset(["made", "used", "built", "known", "found", "often", "usually", "any", "someone", "somebody",
                         "something", "anyone", "anything", "from", "between", "during"])
_GENERIC = (
    "hour time region area act thing object entity abstraction state event attribute location quality "
    "matter activity group person artifact structure condition substance part unit"
)
_GENERIC_KINDS = frozenset(_GENERIC.split())
# Nouns said without "a" ("bread is ...", "physics is ..."): WordNet does not tell count from mass nouns.
_MASS_NOUNS = frozenset(
    ["bread", "water", "coffee", "tea", "music", "art", "food", "rice", "milk", "sand", "ice", "snow", "light",
     "energy", "air", "money", "information", "research", "software", "equipment", "furniture", "weather",
     "traffic", "gold", "silver", "iron", "steel", "wood", "glass", "paper", "oil", "gas", "electricity", "data",
     "rainfall", "photosynthesis", "evolution", "gravity", "jazz", "climate change", "pollution", "radiation"]
)
# A definition headed by one of these makes its noun uncountable, said without "a" ("honey: a sweet yellow
# liquid produced by bees", "lava: rock that ... issues from volcanos", "jazz: a genre of popular music");
# the head comes before these words.
_SUBSTANCES = frozenset(
    ["liquid", "fluid", "substance", "material", "rock", "mineral", "metal", "alloy", "compound", "mixture",
    "powder", "gas", "fuel", "fiber", "fibre", "fabric", "sugar", "oil", "juice", "dust", "soil", "wax",
    "resin", "acid", "water", "genre", "music"]
)
_HEAD_ENDS = frozenset(
    ["that", "which", "who", "whose", "produced", "made", "used", "consisting", "of", "in", "from", "with", "by",
    "for", "or", "and"]
)
_PREPOSITIONS = frozenset(["with", "by", "for", "in", "from", "to", "as", "on", "of", "at"])
_DETERMINERS = ("a ", "an ", "the ", "any ", "one ", "some ", "each ", "either ", "all ", "two ", "three ")


def _is_mass(noun: str) -> bool:
    """A short name whose head is a mass noun ('sourdough bread', 'physics'); definitions never are."""
    words = noun.lower().split()
    if not words or len(words) > 3:
        return False
    last = words[-1]
    return " ".join(words) in _MASS_NOUNS or last in _MASS_NOUNS or last.endswith("ics")


def defined_as_substance(gloss: str) -> bool:
    """The definition's head, before its first relative or preposition, is a substance ("a sweet yellow liquid
    produced by bees"), not a thing ("a celestial body of hot gases")."""
    for word in re.findall(r"[a-z]+", gloss.split(";")[0].lower()):
        if word in _HEAD_ENDS:
            return False
        if word in _SUBSTANCES:
            return True
    return False


def with_article(noun_phrase: str) -> str:
    """'a region', 'an infusion', 'the citadel' (kept); none before a participle ('made with ...')."""
    low = noun_phrase.lower()
    first, _, rest = low.partition(" ")
    participle = first.endswith("ed") and rest.split(" ", 1)[0] in _PREPOSITIONS
    if low.startswith(_DETERMINERS) or not noun_phrase or first in _NO_ARTICLE or participle or _is_mass(low):
        return noun_phrase
    return ("an " if _VOWEL_SOUND.match(noun_phrase) else "a ") + noun_phrase


def _spoken(text: str) -> str:
    """Parentheses read as commas: 'housing (usually tungsten) that' -> 'housing, usually tungsten, that'."""
    text = re.sub(r"^\s*\([^()]*\)\s*", "", text)  # a leading domain label: "(astronomy) a celestial body"
    text = _PARENS.sub(lambda m: f", {m.group(1)},", text)
    text = re.sub(r",\s*,", ",", text)
    return re.sub(r"\s+", " ", text).strip(" ,")


def _sentence(text: str) -> str:
    text = text.strip()
    text = re.sub(r",\s*([.?!])$", r"\1", text)
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def subject_name(entry: LexEntry, as_written: str | None = None) -> str:
    """How the narration names the entry: 'a black hole', 'Marie Curie', or as the prompt wrote it
    ('coffee', 'the Acropolis', 'particle physics') when it was written in the singular."""
    if entry.is_proper:
        return entry.name
    if as_written and as_written.lower().split()[-1] == entry.name.lower().split()[-1]:
        return as_written
    return entry.name if defined_as_substance(entry.gloss) else with_article(entry.name)


def naming_in_prompt(prompt: str, run: str) -> str | None:
    """How the prompt names a noun it uses: 'the Acropolis' after 'the', 'coffee' for a bare singular at the
    end of its phrase (a mass noun or a name); None (the dictionary form with 'a') otherwise."""
    found = re.search(rf"(?:\b(\w+)\s+)?\b{re.escape(run)}\b(?:\s+(\w+))?", prompt, flags=re.IGNORECASE)
    if found is None:
        return None
    before, after = (found.group(1) or "").lower(), (found.group(2) or "").lower()
    written = prompt[found.start() + (len(found.group(1)) + 1 if found.group(1) else 0) :].split()
    surface = " ".join(written[: len(run.split())]).strip(",;:.!?")
    if before == "the":
        return f"the {surface}"
    if before in ("a", "an") or (after and after not in _PREPOSITIONS and after not in ("and", "or")):
        return None  # counted ("a light bulb") or a modifier ("bicycle gears"): "a bicycle is ..."
    return surface


def definition_sentences(entry: LexEntry, as_written: str | None = None) -> list[str]:
    """The entry's definition as one to three plain sentences, ready to be spoken."""
    clauses = [c.strip() for c in entry.gloss.split(";") if c.strip()]
    if not clauses:
        return []
    first = _spoken(clauses[0])
    verb = "was" if entry.lifetime else "is"
    name = subject_name(entry, as_written)
    if first.lower().startswith(entry.name.lower() + " "):  # the gloss already names it
        sentences = [_sentence(first)]
    else:
        what = first if defined_as_substance(first) else with_article(first)  # "lava is rock that ..."
        sentences = [_sentence(f"{name} {verb} {what}")]
    pronoun = "It"
    for clause in clauses[1:]:
        clause = _spoken(clause)
        if _FOLLOW_ON.match(clause) and len(clause.split()) >= 3:
            lead = "the " if re.match(r"^\w+ of\b", clause) and not clause.startswith("one ") else ""
            sentences.append(_sentence(f"{pronoun} {verb} {lead}{clause}"))
    if entry.lifetime:
        born, died = entry.lifetime
        sentences.append(_sentence(f"{entry.name} lived from {born} to {died}"))
    return sentences


def parts_sentence(entry: LexEntry) -> str | None:
    """'Its parts include a bicycle seat, a chain and a coaster brake.' when WordNet lists parts."""
    parts = [p if p[:1].isupper() else with_article(p) for p in entry.parts[:3]]
    if len(parts) < 2:
        return None
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    if entry.is_proper:
        return _sentence(f"{entry.name} includes {listed}")
    return _sentence(f"Its parts include {listed}")


def kind_sentence(entry: LexEntry, as_written: str | None = None) -> str | None:
    """'A gear is a kind of wheel.' when the definition does not already say so (common nouns only)."""
    if entry.is_proper or not entry.hypernym or entry.hypernym.lower() in entry.gloss.lower():
        return None
    if entry.hypernym.lower() in _GENERIC_KINDS:
        return None  # "Sunset is a kind of hour" says nothing
    return _sentence(f"{subject_name(entry, as_written)} is a kind of {entry.hypernym}")


def broader_sentence(broader: LexEntry) -> str | None:
    """What the more general term is ('A bee is any of numerous hairy-bodied insects ...'), unless generic."""
    name = broader.name.lower()
    if name in _GENERIC_KINDS or broader.is_proper or any(w in broader.gloss.lower().split() for w in name.split()):
        return None  # generic, or saying the name again ("a national capital is the capital city ...")
    sentences = definition_sentences(broader)
    return sentences[0] if sentences else None


def facts_about(entry: LexEntry, as_written: str | None = None, broader: LexEntry | None = None) -> list[str]:
    """Every sentence the lexicon can say about one entry, most important first.

    `as_written` is the phrase as the prompt wrote it ("coffee", "the Acropolis"); a singular one names
    the entry in the narration, a plural one gives way to the dictionary form with an article.
    """
    out = definition_sentences(entry, as_written)
    wider = broader_sentence(broader) if broader is not None else None
    for extra in (wider, parts_sentence(entry), None if wider else kind_sentence(entry, as_written)):
        if extra:
            out.append(extra)
    return out
