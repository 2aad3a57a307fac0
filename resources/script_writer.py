"""Script writers: turn a request into a scenario. The template writer is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg

from nexus_core.lexicon import WORDNET_CREDIT, find_wordnet
from nexus_core.models import Made, Scenario, VideoRequest
from nexus_core.script_template import write_template_scenario


class ScriptWriter(dg.ConfigurableResource, ABC):
    """Writes the scenario (title and timed scenes) for a request; an LLM writer subclasses this too."""

    @abstractmethod
    def write(self, request: VideoRequest, *, video_id: str) -> Made[Scenario]:
        """A scenario for the request and who wrote it (a fallback says so); the same video id and request
        should give the same scenario."""

    def provider_name(self) -> str:
        """The writer's own label (a result's `provider` may add '(cached)' or name a fallback)."""
        return type(self).__name__


class TemplateScriptWriter(ScriptWriter):
    """Deterministic scenes narrating the prompt's own content and, in English, what WordNet (Debian's
    wordnet-base, found in /usr/share/wordnet or `lexicon_dir`) knows about its nouns: no keys, no network."""

    lexicon_dir: str = ""

    def write(self, request: VideoRequest, *, video_id: str) -> Made[Scenario]:
        lexicon = find_wordnet(self.lexicon_dir or None)
        scenario = write_template_scenario(request, video_id=video_id, lexicon=lexicon)
        return Made(scenario, self.provider_name(), credits=(WORDNET_CREDIT,) if lexicon else ())

    def provider_name(self) -> str:
        return "template"


def template_fallback(
    request: VideoRequest, *, video_id: str, label: str, lexicon_dir: str = ""
) -> Made[Scenario]:
    """The template writer's scenario, labelled as the fallback `label` (see fallback_label)."""
    made = TemplateScriptWriter(lexicon_dir=lexicon_dir).write(request, video_id=video_id)
    return Made(made.value, label, fallback=True, credits=made.credits)
