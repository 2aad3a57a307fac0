"""The request, scenario and status types shared by the pipeline, the API and the CLI."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class Quality(StrEnum):
    STANDARD = "STANDARD"
    HD = "HD"
    ULTRA = "ULTRA"


class Resolution(StrEnum):
    P360 = "360p"
    P480 = "480p"
    P720 = "720p"
    P1080 = "1080p"
    P2160 = "2160p"

    @property
    def short_side(self) -> int:
        return int(self.value.removesuffix("p"))


class Aspect(StrEnum):
    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"


class MusicStyle(StrEnum):
    AMBIENT = "ambient"
    UPBEAT = "upbeat"
    CINEMATIC = "cinematic"
    NONE = "none"


class Language(StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"
    DE = "de"
    IT = "it"
    PT = "pt"
    EL = "el"
    RU = "ru"
    ZH = "zh"
    JA = "ja"
    AR = "ar"
    HI = "hi"


class CaptionStyle(StrEnum):
    """How burned-in captions show the spoken words: whole phrases, or the current word highlighted."""

    PHRASE = "phrase"
    KARAOKE = "karaoke"
    NONE = "none"


class CameraAngle(StrEnum):
    WIDE = "wide"
    CLOSE_UP = "close-up"
    MEDIUM = "medium"
    AERIAL = "aerial"
    LOW_ANGLE = "low-angle"
    TRACKING = "tracking"


class VideoStatus(StrEnum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED)


FrameRate = Literal[24, 25, 30, 60]
FRAME_RATES: tuple[int, ...] = (24, 25, 30, 60)

MIN_DURATION_S = 5
MAX_DURATION_S = 600
MAX_PROMPT_CHARS = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_unicode(text: str, what: str = "text") -> str:
    """Refuse text that is not valid Unicode: a lone surrogate (a JSON `\\ud800` escape, or an undecodable
    byte in a command-line argument) can be neither stored as UTF-8 nor shown, so it is refused at input."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode: a lone surrogate (U+{ord(text[exc.start]):04X}) at "
                         f"character {exc.start + 1}") from None
    return text


def strip_control_characters(text: str) -> str:
    """Drop control and format characters (keeps newlines and tabs as spaces), then strip."""
    cleaned = _CONTROL.sub("", text.replace("\t", " ").replace("\n", " "))
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch) != "Cf")
    return cleaned.strip()


def _even(value: float) -> int:
    return max(2, round(value / 2.0) * 2)


def frame_size(resolution: Resolution, aspect: Aspect) -> tuple[int, int]:
    """(width, height) in pixels: the resolution is the short side for every aspect."""
    short = resolution.short_side
    if aspect is Aspect.SQUARE:
        return short, short
    long = _even(short * 16 / 9)
    return (long, short) if aspect is Aspect.LANDSCAPE else (short, long)


class VideoRequest(BaseModel):
    """What a person asks for. Every field but the prompt has a sane default."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS,
                                 description="What the video is about (1-2000 characters).")]
    duration_seconds: Annotated[
        int, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S, description="Length of the video in seconds.")
    ] = 30
    quality: Quality = Quality.HD
    resolution: Resolution = Resolution.P720
    aspect: Aspect = Aspect.LANDSCAPE
    frame_rate: FrameRate = 30
    music_style: MusicStyle = MusicStyle.AMBIENT
    voice: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.+-]+$")] = "default"
    language: Language = Language.EN
    caption_style: CaptionStyle = CaptionStyle.PHRASE
    preview: bool = Field(default=False, description="A cheaper draft: at most 720p, STANDARD quality, fewer "
                                                     "diffusion steps (nexus_core.service_level).")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: object) -> object:
        """Every text field must be valid Unicode (one rule for all of them: check_unicode)."""
        if isinstance(data, dict):
            for name, value in data.items():
                if isinstance(value, str):
                    check_unicode(value, str(name))
        return data

    @field_validator("prompt", mode="before")
    @classmethod
    def _clean_prompt(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        cleaned = strip_control_characters(value)
        if not cleaned:
            raise ValueError("prompt must contain at least 1 visible character")
        if len(cleaned) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt must be at most {MAX_PROMPT_CHARS} characters (got {len(cleaned)})")
        return cleaned

    @model_validator(mode="before")
    @classmethod
    def _language_from_script(cls, data: object) -> object:
        """No language given (absent or null): a prompt written in Han, kana, Arabic, Devanagari, Greek or
        Cyrillic script is voiced in the language that script points at; anything else in English."""
        if not isinstance(data, dict) or data.get("language") is not None:
            return data
        from nexus_core.languages import detect_script_language

        prompt = data.get("prompt")
        detected = detect_script_language(prompt) if isinstance(prompt, str) else None
        return {**data, "language": detected or Language.EN}

    @field_validator("language")
    @classmethod
    def _language_matches_the_prompt(cls, value: Language, info: ValidationInfo) -> Language:
        """Refuse a prompt whose script the language's voice cannot read (it would spell out letter names)."""
        from nexus_core.languages import script_mismatch

        prompt = info.data.get("prompt")
        problem = script_mismatch(prompt, value) if isinstance(prompt, str) else None
        if problem:
            raise ValueError(problem)
        return value

    @property
    def size(self) -> tuple[int, int]:
        return frame_size(self.resolution, self.aspect)

    def seed(self, video_id: str, salt: str = "") -> int:
        """A stable 32-bit seed for this video (and an optional salt such as a scene number)."""
        import hashlib

        digest = hashlib.sha256(f"{video_id}:{salt}".encode()).digest()
        return int.from_bytes(digest[:4], "big")


class Scene(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scene_number: Annotated[int, Field(ge=1)]
    duration_seconds: Annotated[float, Field(gt=0, le=MAX_DURATION_S)]
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    visual_elements: Annotated[list[str], Field(min_length=1, max_length=20)]
    dialogue: Annotated[str, Field(max_length=4000)] = ""
    camera_angle: CameraAngle = CameraAngle.WIDE
    lighting: Annotated[str, Field(min_length=1, max_length=200)] = "natural"


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=200)]
    scenes: Annotated[list[Scene], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Scenario:
        numbers = [s.scene_number for s in self.scenes]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"scene_number must run 1..{len(numbers)} in order, got {numbers}")
        return self

    @property
    def duration_seconds(self) -> float:
        return sum(s.duration_seconds for s in self.scenes)


def allowed_values(field: str) -> list[str]:
    """The allowed values of an enumerated request field, for error messages and docs."""
    enums: dict[str, list[str]] = {
        "quality": [q.value for q in Quality],
        "resolution": [r.value for r in Resolution],
        "aspect": [a.value for a in Aspect],
        "frame_rate": [str(f) for f in FRAME_RATES],
        "music_style": [m.value for m in MusicStyle],
        "language": [lang.value for lang in Language],
        "caption_style": [c.value for c in CaptionStyle],
    }
    return enums.get(field, [])


def describe_validation_error(exc: Exception) -> list[tuple[str, str]]:
    """(field, message) pairs from a pydantic ValidationError; enum messages list the allowed values."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return [("", str(exc))]
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "request"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        allowed = allowed_values(field)
        if allowed and not any(f"'{v}'" in message or f" {v}" in message for v in allowed):
            message = f"{message} (allowed: {', '.join(allowed)})"
        out.append((field, message))
    return out


class WordTiming(BaseModel):
    """When one spoken word starts and ends, in seconds from the start of its voice clip."""

    model_config = ConfigDict(frozen=True)

    word: str
    start_s: float
    end_s: float


class SpokenPhrase(BaseModel):
    """One caption-sized piece of a voice line, synthesized on its own and measured: the speech of `text`
    starts at start_s and ends at end_s (seconds from the start of the clip). `words` are its words' times
    (measured where the engine gives them, else spread by their phoneme share inside the phrase)."""

    model_config = ConfigDict(frozen=True)

    text: str
    start_s: float
    end_s: float
    words: list[WordTiming] = Field(default_factory=list)


class VoiceClip(BaseModel):
    """A synthesized voice line: its measured duration and, when the provider gives them, word timings.

    `phrases` are set by voices that speak a line phrase by phrase (captions start on each phrase's
    measured onset); `spoken_text` is what was actually said when the line had to be shortened to fit;
    `speed` is the rate relative to the voice's natural pace (never above 1.1 for local voices); `fallback`
    says a stand-by voice made it during an outage (`provider` then names both), so it is not reused later.
    """

    model_config = ConfigDict(frozen=True)

    duration_s: float
    sample_rate: int
    words: list[WordTiming] = Field(default_factory=list)
    provider: str = ""
    phrases: list[SpokenPhrase] = Field(default_factory=list)
    spoken_text: str | None = None
    speed: float = 1.0
    fallback: bool = False  # a stand-by voice spoke it because the chosen provider was unavailable


T = TypeVar("T")


@dataclass(frozen=True)
class Made(Generic[T]):
    """A provider's result and who made it: `provider` is the label the UI shows (e.g. 'openai:gpt-4o-mini
    (cached)' or 'template (fallback from ...)'), `fallback` says a stand-by made it during an outage, and
    `credits` are the attribution lines for what it drew on (published with the video)."""

    value: T
    provider: str
    fallback: bool = False
    credits: tuple[str, ...] = ()
