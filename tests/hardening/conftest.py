"""Fixtures of the hardening tests: the shared Ray cluster, a damaged tiny world, the pipeline.

The Ray cluster is the test session's one (``ray_session`` of tests/ray/conftest.py, loaded
from there so both folders use the same cluster settings whichever runs first).
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RAY_TESTS = HERE.parent / "ray"
sys.path.insert(0, str(HERE))  # hardening_world
sys.path.insert(0, str(RAY_TESTS))  # the Ray fixture imports its dummy stages from there


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ray_session = _load("ray_tests_conftest", RAY_TESTS / "conftest.py").ray_session

# Settings of every pipeline run here: tiny world, random tiny backbone, fast keywords.
FAST = ["model.name=test-tiny", "keywords.extractor=rule", "data.synth.generate=false",
        "ray.progress=false", "logging.wandb=false", "logging.figures=0"]


@pytest.fixture(scope="session")
def bad_world(tmp_path_factory):
    """(root, planted): a 40-image world (8 test images) with every kind of bad input."""
    from hardening_world import damage_world

    from fgalign.data.synth import generate_world

    root = tmp_path_factory.mktemp("hardening") / "world"
    generate_world(root, seed=1, images=40, image_size=96, progress=False)
    return root, damage_world(root)


@pytest.fixture(scope="session")
def slow_bundle(tmp_path_factory) -> str:
    """A random CLIP bundle (test-tiny's text side, a wider and deeper 96 px vision tower).

    Embedding with it takes seconds instead of milliseconds, so a fault injected while the
    embed stage runs lands mid-stage. Loaded through the production bundle path.
    """
    from fgalign.models.bundle import build_clip, save_bundle
    from fgalign.models.factory import TEST_TINY_CFG, TEST_TINY_VOCAB
    from fgalign.models.tokenizer import WordTokenizer

    text = TEST_TINY_CFG["text_cfg"]
    model_cfg = {"embed_dim": 32, "text_cfg": text,
                 "vision_cfg": {"image_size": 96, "patch_size": 8, "width": 192, "layers": 4,
                                "head_width": 32}}
    tok = WordTokenizer(TEST_TINY_VOCAB, text["context_length"])
    path = tmp_path_factory.mktemp("bundle") / "slow-tiny"
    return str(save_bundle(path, build_clip(model_cfg, seed=0),
                           {"name": "slow-tiny", "model_cfg": model_cfg,
                            "preprocess": {"size": 96}, "tokenizer": tok.to_dict()}))


@pytest.fixture(scope="session")
def full_main():
    """``main(argv)`` of pipelines/full.py (the `make demo` entry point)."""
    path = REPO / "pipelines" / "full.py"
    if not path.is_file():
        pytest.skip("pipelines/full.py does not exist yet")
    return _load("pipelines_full", path).main


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


os.environ.setdefault("WANDB_SILENT", "true")
