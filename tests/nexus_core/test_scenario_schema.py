"""The scenario's strict JSON schema for structured LLM output."""

from __future__ import annotations

import json
from typing import Any

from nexus_core.models import CameraAngle, Scene
from nexus_core.scenario_schema import STRICT_KEYWORDS, scenario_json_schema


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    children = [v for k, v in node.items() if k not in ("properties", "$defs")]
    children += [*node.get("properties", {}).values(), *node.get("$defs", {}).values()]
    return [node, *(found for child in children for found in _walk(child))]


def test_every_object_is_closed_and_requires_all_its_properties() -> None:
    objects = [n for n in _walk(scenario_json_schema()) if n.get("type") == "object"]
    assert len(objects) == 2  # the scenario and its scene
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])


def test_only_strict_keywords_remain_and_field_names_are_kept() -> None:
    schema = scenario_json_schema()
    for node in _walk(schema):
        assert set(node) <= STRICT_KEYWORDS
    scene = schema["$defs"]["Scene"]["properties"]
    assert set(scene) == set(Scene.model_fields)
    assert schema["properties"]["title"] == {"type": "string"}
    assert schema["$defs"]["CameraAngle"]["enum"] == [a.value for a in CameraAngle]
    assert "default" not in json.dumps(schema)
