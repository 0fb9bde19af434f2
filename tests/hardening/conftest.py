"""Fixtures of the hardening tests: the shared Ray cluster, a damaged tiny world, the pipeline.

The Ray cluster is the test session's one (``ray_session`` of tests/conftest.py).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fgalign.schema import BUILTIN_TASKS as TASKS

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # hardening_support, hardening_world

from hardening_support import PIPELINE, SECRET, load_module, run_args, run_dir, run_settings

os.environ.setdefault("WANDB_SILENT", "true")


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
    """``main(argv)`` of the pipeline entry point (``PIPELINE``)."""
    if not PIPELINE.is_file():
        pytest.skip(f"{PIPELINE} does not exist yet")
    return load_module("pipelines_full", PIPELINE).main


@pytest.fixture(scope="session")
def bad_run(full_main, ray_session, bad_world, slow_bundle, tmp_path_factory):
    """(output dir, run dir, planted): one pipeline run, all tasks, over the damaged world.

    W&B is on (offline) with ``SECRET`` as the W&B key in the environment. The settings
    (``RUN``: the slow bundle, small batches and files) are those of the fault tests, so this
    run is also their undisturbed baseline.
    """
    root, planted = bad_world
    out = tmp_path_factory.mktemp("bad_run")
    saved = {k: os.environ.get(k) for k in ("WANDB_API_KEY", "WANDB_MODE")}
    os.environ.update({"WANDB_API_KEY": SECRET, "WANDB_MODE": "offline"})
    try:
        assert full_main(run_args(root, out, list(TASKS), *run_settings(slow_bundle),
                                  "logging.wandb=true")) == 0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    return out, run_dir(out), planted

