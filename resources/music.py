"""Music providers: one bed per video in the requested style. The synthesizer is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg

from nexus_core.media.music import write_music_bed
from nexus_core.models import Made, MusicStyle


class MusicProvider(dg.ConfigurableResource, ABC):
    """Composes a music bed; a music API or a licensed library subclasses this too."""

    @abstractmethod
    def compose(self, style: MusicStyle, *, duration_s: float, seed: int, out_path: Path) -> Made[Path] | None:
        """Write a WAV bed of duration_s to out_path and return it with who made it; None for MusicStyle.NONE."""

    def provider_name(self) -> str:
        """The provider's own label (a result's `provider` may add '(cached)' or name a fallback)."""
        return type(self).__name__


class SynthMusic(MusicProvider):
    """Seeded pads, grooves and swells synthesized with numpy, streamed to a 16-bit stereo WAV."""

    sample_rate: int = 48000

    def compose(self, style: MusicStyle, *, duration_s: float, seed: int, out_path: Path) -> Made[Path] | None:
        if style is MusicStyle.NONE:
            return None
        write_music_bed(style, duration_s=duration_s, seed=seed, out_path=out_path, sample_rate=self.sample_rate)
        return Made(out_path, self.provider_name())

    def provider_name(self) -> str:
        return "synth"
