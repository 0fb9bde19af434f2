"""Shared constants and helpers of the hardening tests (imported by name, not via conftest)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The pipeline entry point under test: pipelines/full.py (the `make demo` entry point), or
# another script with the same command line named by FGALIGN_TEST_PIPELINE.
PIPELINE = Path(os.environ.get("FGALIGN_TEST_PIPELINE", REPO / "pipelines" / "full.py"))

# A fake W&B key: set in the environment of the bad-input run, must appear in no file.
SECRET = "fgalign-hardening-secret-5f3c9a1e7d2b4c6a8e0f"

# Settings of every pipeline run here: tiny world, random tiny backbone, fast keywords.
FAST = ["model.name=test-tiny", "keywords.extractor=rule", "data.synth.generate=false",
        "ray.progress=false", "logging.wandb=false", "logging.figures=0"]


def load_module(name: str, path: Path):
    """Import a Python file by path under ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_args(root: Path, out: Path, tasks: list[str], *extra: str) -> list[str]:
    """``--config configs/demo.yaml --set ...`` for a pipeline run of ``tasks`` into ``out``."""
    sets = [f"data.root={root}", f"experiment.output_dir={out}",
            f"data.tasks=[{', '.join(tasks)}]", *FAST, *extra]
    args = ["--config", str(REPO / "configs" / "demo.yaml")]
    for s in sets:
        args += ["--set", s]
    return args


def run_dir(out: Path) -> Path:
    """The single run folder (the one holding metrics.json) under an output dir."""
    found = sorted(out.rglob("metrics.json"))
    assert len(found) == 1, f"expected one run folder under {out}, found {found}"
    return found[0].parent


def run_settings(bundle: str) -> list[str]:
    """Overrides of the bad-input run and the fault runs (one undisturbed baseline for both):
    the slow bundle, 4-row embed batches and cache files, actor restarts on."""
    return [f"model.name={bundle}", "ray.rows_per_file=4", "ray.stages.embed.batch_size=4",
            "ray.max_restarts=2"]
