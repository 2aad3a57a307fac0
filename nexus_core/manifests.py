"""Phase manifests, typed: what a phase stored for a video (`{store folder}/manifest.json`), with the input
hash of each entry, and the one rule for reusing an entry made earlier.

The JSON form is the one the phases have always written: `to_json()` of a manifest read with `from_json()`
gives back the same fields, unknown fields are kept, and fields added later have defaults, so the manifests
already in a store are read and their work reused. `reused` is a run-only flag and is never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_core.models import SpokenPhrase, WordTiming


class _Stored(BaseModel):
    """A manifest part: frozen, keeps fields it does not know (written by a newer version)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SceneEntry(_Stored):
    """One scene's stored file and the hash of what it was made from."""

    scene_number: int
    key: str
    bytes: int
    input_hash: str = ""  # empty: never reused
    reused: bool = Field(default=False, exclude=True)  # this run took it from the previous manifest

    @property
    def made_by_fallback(self) -> bool:
        """Whether a stand-by provider made it during an outage (such entries are made again, not reused)."""
        return False


class ImageEntry(SceneEntry):
    """A scene's background image (`assets/images/scene_NNN.png`)."""

    sha256: str
    seed: int | None = None
    illustrations: list[str] = Field(default_factory=list)  # credited illustrations drawn into it


class VoiceEntry(SceneEntry):
    """A scene's narration (`assets/voice/scene_NNN.wav`), measured, with its timings."""

    duration_s: float
    words: list[WordTiming] = Field(default_factory=list)
    phrases: list[SpokenPhrase] = Field(default_factory=list)
    speed: float = 1.0
    spoken_text: str | None = None  # what was said when the line had to be shortened
    provider: str = ""
    fallback: bool = False  # a stand-by voice spoke it because the chosen one was unavailable

    @model_validator(mode="before")
    @classmethod
    def _fallback_of_old_manifests(cls, data: Any) -> Any:
        # manifests written before `fallback` existed say so only in the provider label
        if isinstance(data, dict) and "fallback" not in data:
            return {**data, "fallback": "fallback" in str(data.get("provider") or "")}
        return data

    @property
    def made_by_fallback(self) -> bool:
        return self.fallback


class CueEntry(_Stored):
    """One caption on the video's timeline (seconds)."""

    start_s: float
    end_s: float
    lines: list[str]


class ClipEntry(SceneEntry):
    """A scene's composited clip (`compositing/scene_NNN.mp4`) and its place on the timeline."""

    frames: int
    cues: list[CueEntry] = Field(default_factory=list)
    start_s: float = 0.0
    voice_start_s: float = 0.0


E = TypeVar("E", bound=SceneEntry)


class SceneManifest(_Stored, Generic[E]):
    """A per-scene phase's manifest: its entries and the attribution lines of what made them."""

    items: list[E]
    credits: list[str] | None = None  # absent in the JSON when the phase has none to give

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if self.credits is None:
            del data["credits"]
        return data

    def by_scene(self) -> dict[int, E]:
        return {item.scene_number: item for item in self.items}

    @property
    def reused(self) -> int:
        return sum(1 for item in self.items if item.reused)

    @property
    def total_bytes(self) -> int:
        return sum(item.bytes for item in self.items)


ImagesManifest = SceneManifest[ImageEntry]
VoiceManifest = SceneManifest[VoiceEntry]
ClipsManifest = SceneManifest[ClipEntry]


class MusicManifest(_Stored):
    """The music bed (`assets/music/bed.wav`); `key` is None for style 'none' or when nothing was made.
    `provider` and `fallback` say who made the bed (absent when none was made, and in older manifests)."""

    style: str
    key: str | None = None
    duration_s: float
    bytes: int | None = None
    seed: int | None = None
    provider: str | None = None
    fallback: bool = False

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True) | {"key": self.key}
        if self.provider is None:
            data.pop("fallback")
        return data


class MasterManifest(_Stored):
    """The master MP4 (`rendering/master.mp4`) and its measured loudness."""

    key: str
    duration_s: float
    bytes: int
    loudness_lufs: float
    true_peak_dbtp: float


class RenditionEntry(_Stored):
    """One encoded MP4 (`encoding/{name}.mp4`)."""

    name: str
    key: str
    codec: str
    encoder: str
    bytes: int
    duration_s: float
    crf: int
    preset: str
    copied: bool = False  # a stream copy of the master


class RenditionsManifest(_Stored):
    """The renditions (H.264 first), the caption files by extension, and the video's credits."""

    items: list[RenditionEntry]
    captions: dict[str, str] = Field(default_factory=dict)
    credits: list[str] = Field(default_factory=list)


class Reuse(Generic[E]):
    """The one rule for reusing earlier work: an entry of the previous manifest is taken again when its input
    hash matches, its file is still stored, and no stand-by provider made it."""

    def __init__(self, previous: Iterable[E], exists: Callable[[str], bool]) -> None:
        self._entries = {
            entry.input_hash: entry
            for entry in previous
            if entry.input_hash and entry.key and not entry.made_by_fallback and exists(entry.key)
        }

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, input_hash: str) -> E | None:
        """The earlier entry made from these inputs, marked `reused`; None when it must be made."""
        entry = self._entries.get(input_hash)
        return None if entry is None else entry.model_copy(update={"reused": True})

    def or_make(self, input_hash: str, make: Callable[[], E]) -> E:
        """The earlier entry made from these inputs, else what `make()` makes."""
        entry = self.take(input_hash)
        return make() if entry is None else entry
