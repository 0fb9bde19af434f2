"""Shared constants and helpers of the hardening tests (imported by name, not via conftest)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The pipeline entry point under test: pipelines/full.py (the `make demo` entry point), or
# another script with the same command line named by FGALIGN_TEST_PIPELINE.
PIPELINE = Path(os.environ.get("FGALIGN_TEST_PIPELINE", REPO / "pipelines" / "full.py"))

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
