"""Script writers: turn a request into a scenario. The template writer is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg

from nexus_core.lexicon import WORDNET_CREDIT, find_wordnet
from nexus_core.models import Scenario, VideoRequest
from nexus_core.script_template import write_template_scenario


class ScriptWriter(dg.ConfigurableResource, ABC):
    """Writes the scenario (title and timed scenes) for a request; an LLM writer subclasses this too."""

    @abstractmethod
    def write(self, request: VideoRequest, *, video_id: str) -> Scenario:
        """A scenario for the request; the same video id and request should give the same scenario."""

    def provider_name(self) -> str:
        """Label for asset metadata."""
        return type(self).__name__

    def credits(self) -> list[str]:
        """Attribution lines for what the writer drew on (published with the video)."""
        return []


class TemplateScriptWriter(ScriptWriter):
    """Deterministic scenes narrating the prompt's own content and, in English, what WordNet (Debian's
    wordnet-base, found in /usr/share/wordnet or `lexicon_dir`) knows about its nouns: no keys, no network."""

    lexicon_dir: str = ""

    def write(self, request: VideoRequest, *, video_id: str) -> Scenario:
        return write_template_scenario(request, video_id=video_id, lexicon=find_wordnet(self.lexicon_dir or None))

    def credits(self) -> list[str]:
        return [WORDNET_CREDIT] if find_wordnet(self.lexicon_dir or None) else []

    def provider_name(self) -> str:
        return "template"
