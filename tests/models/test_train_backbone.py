"""Trainer smoke test (2 steps on the hand-made world), corpus sampling, bundled shapes-tiny."""
from __future__ import annotations

import importlib.util
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fgalign.config import TrainBackboneCfg
from fgalign.models import create_backbone
from fgalign.models.corpus import CaptionCorpus
from fgalign.models.factory import ASSETS
from fgalign.models.train import train_backbone

REPO = Path(__file__).resolve().parents[2]
TINY = {"steps": 2, "scenes_per_batch": 2, "crops_per_batch": 4, "image_size": 32,
        "patch_size": 8, "vision_width": 32, "vision_layers": 1, "text_width": 32,
        "text_layers": 1, "embed_dim": 32, "warmup": 1, "log_every": 1, "crop_variants": 1}


def test_corpus_batches_have_distinct_captions_and_keys(tiny_world):
    corpus = CaptionCorpus.load(tiny_world, "train", size=32, progress=False)
    assert corpus.pixels.dtype == torch.uint8 and corpus.pixels.shape[1:] == (3, 32, 32)
    assert sorted(corpus.crops) == ["blue circle", "blue square", "red circle", "red square"]
    renders, caps = corpus.sample(np.random.default_rng(0), n_scenes=2, n_crops=10)
    assert len(renders) == len(caps) == 6 and len(set(caps)) == 6  # 2 scenes + 4 keys


def test_corpus_without_scene_graphs_keys_crops_by_shortest_caption(tiny_world, tmp_path):
    # a copy, not a symlink: images are read like the pipeline's (load_rgb refuses paths that
    # resolve outside the dataset root)
    shutil.copytree(tiny_world / "images", tmp_path / "images")
    captions = (tiny_world / "captions_train.jsonl").read_text()
    (tmp_path / "captions_train.jsonl").write_text(captions)
    corpus = CaptionCorpus.load(tmp_path, "train", size=32, progress=False)
    assert sorted(corpus.crops) == ["a blue circle", "a blue square", "a red circle",
                                    "a red square"]


def test_two_step_training_writes_a_loadable_bundle(tiny_world, tmp_path):
    out = tmp_path / "a"
    result = train_backbone(TrainBackboneCfg(data=str(tiny_world), out=str(out), **TINY),
                            progress=False)
    assert len(result["losses"]) == 2 and all(math.isfinite(x) for x in result["losses"])
    assert Path(result["loss_curve"]).is_file()
    config = json.loads((out / "shapes-tiny.json").read_text())
    assert config["tokenizer"]["type"] == "word" and config["preprocess"]["size"] == 32
    assert config["provenance"]["train_cfg"]["seed"] == 0
    bb = create_backbone(str(out / "shapes-tiny.safetensors"))
    emb = bb.encode_texts(["a red circle", "a blue square"])
    assert emb.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_pipeline_entry_point_is_deterministic(tiny_world, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("train_backbone_main",
                                                  REPO / "pipelines" / "train_backbone.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    for name in ("a", "b"):
        argv = ["--data", str(tiny_world), "--out", str(tmp_path / name), "--no-wandb",
                "--no-progress", "--probe-split", "test", *flags]
        assert module.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.split("\n}\n")[-2] + "\n}")
    assert set(summary["probe"]["crop_accuracy"]) == {"color", "shape", "color_shape"}
    a, b = (load_file(str(tmp_path / n / "shapes-tiny.safetensors")) for n in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    provenance = json.loads((tmp_path / "a" / "shapes-tiny.json").read_text())["provenance"]
    assert provenance["command"].startswith("fgalign train-backbone --data ")


@pytest.mark.skipif(not (ASSETS / "shapes-tiny.safetensors").is_file(),
                    reason="bundled shapes-tiny not built yet")
def test_shapes_tiny_loads_fast_small_and_deterministic():
    t0 = time.time()
    bb = create_backbone("shapes-tiny")
    assert time.time() - t0 < 5.0
    size = sum(f.stat().st_size for f in ASSETS.glob("shapes-tiny*"))
    assert size <= 25 * 2 ** 20
    texts = ["a red circle", "a large blue square", "there are two stars"]
    first, again = bb.encode_texts(texts), create_backbone("shapes-tiny").encode_texts(texts)
    np.testing.assert_array_equal(first, again)
    prov = bb.info["provenance"]
    assert {"command", "world", "train_time_s", "final_loss"} <= set(prov)
    sims = first @ bb.encode_texts(["a red circle"]).T  # a caption is closest to itself
    assert int(sims.argmax()) == 0
