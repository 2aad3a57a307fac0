"""Script writers: turn a request into a scenario. The template writer is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg

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


class TemplateScriptWriter(ScriptWriter):
    """Deterministic intro / body / outro scenes built from the prompt's own words: no keys, no network."""

    def write(self, request: VideoRequest, *, video_id: str) -> Scenario:
        return write_template_scenario(request, video_id=video_id)

    def provider_name(self) -> str:
        return "template"
