"""The scenario's JSON schema for structured LLM output, in the strict subset that OpenAI-style servers accept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from nexus_core.models import Scenario

# Keywords strict structured output understands; others (minLength, default, title...) are dropped, and the
# full model is still checked afterwards with check_scenario.
STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "$ref", "$defs", "description", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    }
)


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in STRICT_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        else:
            out[key] = _strict(value)
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every property required, no extra properties and no defaults."""
    return _strict(model.model_json_schema())


def scenario_json_schema() -> dict[str, Any]:
    """The strict JSON schema of a Scenario (title and scenes)."""
    return strict_json_schema(Scenario)
