"""Settings read from the environment, or one line naming the variable at fault (no traceback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


class BadSetting(Exception):
    """An environment variable holds a value the settings refuse (the CLI exits with 2, a usage error)."""


def _variable(model: type[BaseSettings], loc: tuple[Any, ...]) -> str:
    """The environment variable behind a settings field (nested settings use their own prefix)."""
    current: Any = model
    prefix = str(model.model_config.get("env_prefix", ""))
    for part in loc[:-1]:
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            current, prefix = annotation, str(annotation.model_config.get("env_prefix", ""))
    return f"{prefix}{loc[-1]}".upper() if loc else prefix.rstrip("_")


def load_settings(factory: Callable[[], S], model: type[S]) -> S:
    """factory(), or BadSetting with e.g. 'NEXUS_WORKERS=0: Input should be greater than or equal to 1'."""
    try:
        return factory()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            shown = f"={err['input']}" if isinstance(err.get("input"), str | int | float) else ""
            problems.append(f"{_variable(model, loc)}{shown}: {err.get('msg', 'invalid value')}")
        raise BadSetting("bad setting: " + "; ".join(problems)) from None
