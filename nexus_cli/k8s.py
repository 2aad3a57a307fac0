"""`nexus k8s render`: the pods a video costs (run pod Job, GPU pod) as Dagster builds them, plus the non-chart
manifests, validated."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from rich.console import Console

from nexus_cli.extras import needs_extras
from nexus_cli.k8s_manifests import Manifest, crd_problems, is_crd, render_manifests
from nexus_core.deploy_settings import DEPLOY_ENVIRONMENTS, DeploySettings, load_deploy_settings
from nexus_core.models import describe_validation_error

DEFAULT_OUT = Path(".nexus") / "k8s"


def register(subparsers: Any) -> None:
    """Add `nexus k8s render`."""
    k8s = subparsers.add_parser("k8s", help="Kubernetes: render and check the manifests of an environment")
    commands = k8s.add_subparsers(dest="k8s_command", required=True)
    render = commands.add_parser("render", help="write a video's pods and the non-chart manifests, validated")
    render.add_argument("--env", choices=DEPLOY_ENVIRONMENTS, default="production")
    render.add_argument("--out", type=Path, help=f"output folder (default {DEFAULT_OUT}/ENV)")
    render.add_argument("--no-validate", action="store_true", help="skip kubernetes-validate --strict")
    render.set_defaults(handler=run_render)


def render(deploy: DeploySettings) -> dict[str, Manifest]:
    """Relative path -> manifest: pods/*.yaml (what a video's run creates: the run pod's Job and the GPU pod)
    and manifests/*.yaml (to apply)."""
    from nexus_assets.step_jobs import render_video_pods

    files = {f"pods/{name}.yaml": manifest for name, manifest in render_video_pods(deploy).items()}
    return files | {f"manifests/{name}": manifest for name, manifest in render_manifests(deploy).items()}


def write(files: dict[str, Manifest], out: Path) -> list[Path]:
    """Write each manifest as YAML under out."""
    paths = []
    for relative, manifest in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        paths.append(path)
    return paths


def validate(manifest: Manifest, kubernetes_version: str) -> list[str]:
    """Problems with one manifest: kubernetes-validate --strict for built-in kinds, a structure check for CRDs."""
    if is_crd(manifest):
        return crd_problems(manifest)
    import kubernetes_validate

    try:
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
    except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
        return [f"{manifest['kind']}/{manifest['metadata']['name']}: {exc.message}"]
    return []


@needs_extras("k8s render")
def run_render(args: argparse.Namespace) -> int:
    console = Console()
    try:
        deploy = load_deploy_settings(args.env)
    except ValidationError as exc:
        for field, message in describe_validation_error(exc):
            console.print(f"[red]error[/]: NEXUS_K8S_{field.upper()}: {message}", soft_wrap=True)
        return 2
    out = args.out or DEFAULT_OUT / args.env
    files = render(deploy)
    write(files, out)
    problems: list[str] = []
    for relative, manifest in files.items():
        found = [] if args.no_validate else validate(manifest, deploy.kubernetes_version)
        problems += found
        check = "skipped" if args.no_validate else "CRD structure" if is_crd(manifest) else "strict"
        console.print(f"{'[red]FAIL[/]' if found else '[green]ok[/]  '} {check:13} {out / relative}", soft_wrap=True)
    for problem in problems:
        console.print(f"[red]error[/]: {problem}")
    console.print(f"{len(files)} manifests for {args.env} in {out} (Kubernetes {deploy.kubernetes_version} schemas)")
    return 1 if problems else 0
