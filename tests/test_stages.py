"""The stage graph in-process on a tiny synthetic world with the random test-tiny backbone."""
import numpy as np
import pytest

from fgalign.config import build_config
from fgalign.stages import (
    STAGE_NAMES,
    build_stage_specs,
    load_task_rows,
    prepare_task,
    run_inprocess,
    run_stages,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    from fgalign.data.synth import DATA_PATHS

    root = tmp_path_factory.mktemp("world") / "w"
    return build_config({
        "data": {"root": str(root), "limit": 6, **DATA_PATHS,
                 "synth": {"generate": True, "seed": 3, "images": 30, "image_size": 64}},
        "model": {"name": "test-tiny", "batch_size": 16},
        "tasks": {"snli_ve": {"train_limit": 30, "val_limit": 12, "steps": 10}},
        "adapt": {"bootstrap": 50}, "logging": {"wandb": False, "figures": 2},
        "experiment": {"output_dir": str(root.parent / "runs")},
    })


@pytest.fixture(scope="module")
def world(cfg):
    from fgalign.data.synth import ensure_world

    ensure_world(cfg.data.root, cfg.data.synth)
    return cfg


@pytest.mark.parametrize("task", ["vqa", "snli_ve", "vcr"])
def test_rows_in_equal_rows_out_and_columns(world, task):
    rows, _ = run_inprocess(world, task)
    assert len(rows) == 6 and not any(r["error"] for r in rows)
    for r in rows:
        assert r["pred"] >= 0 and np.isfinite(np.asarray(r["scores_global"])).all()
        n = 3 if task == "snli_ve" else len(r["statements"])
        assert len(r["vscore_fusion"]) == n
        assert np.allclose(r["score"], r["vscore_fusion"])
    if task == "vcr":
        assert all(r["pred_r"] >= 0 for r in rows)


def test_specs_contract(world):
    ctx = prepare_task(world, "vqa")
    specs = build_stage_specs(world, "vqa", ctx)
    assert tuple(s.name for s in specs) == STAGE_NAMES
    assert len({s.hash for s in specs}) == 4
    other = build_stage_specs(world.model_copy(update={"align": world.align.model_copy(
        update={"tau": 0.5})}), "vqa", ctx)
    assert [a.hash == b.hash for a, b in zip(specs, other)] == [True, True, True, False]


def test_error_rows_pass_and_batching_does_not_change_scores(world):
    ctx = prepare_task(world, "vcr")
    rows = load_task_rows(world, "vcr", ctx)
    rows[1] = dict(rows[1], error="read:bad_label")
    specs = build_stage_specs(world, "vcr", ctx)
    a = run_stages(specs, rows)
    for s in specs:
        s.resources = s.resources.model_copy(update={"batch_size": 4})
    b = run_stages(specs, rows)
    assert [r["uid"] for r in a] == [r["uid"] for r in rows]
    assert a[1]["error"] == "read:bad_label" and a[1]["pred"] == -1
    assert len(a[1]["scores_global"]) == 0
    for x, y in zip(a, b):
        assert x["pred"] == y["pred"] and x["pred_r"] == y["pred_r"]
        assert np.allclose(x["vscore_fusion"], y["vscore_fusion"], atol=1e-5)


def test_missing_image_becomes_a_row_error(world):
    ctx = prepare_task(world, "vcr")
    rows = load_task_rows(world, "vcr", ctx)[:2]
    rows[0] = dict(rows[0], image_path="images/nope.png")
    out = run_stages(build_stage_specs(world, "vcr", ctx), rows)
    assert out[0]["error"].startswith("regions:") and out[1]["error"] == ""


def test_embedder_normalises_dedups_and_passes_errors(world, monkeypatch):
    from fgalign.batch import rows_to_batch
    from fgalign.embed import Embedder

    emb = Embedder(world.data.root, world.model.model_dump(), max_keywords=2)
    calls = []
    encode = emb.backbone.encode_texts
    monkeypatch.setattr(emb.backbone, "encode_texts",
                        lambda texts, batch_size=256: calls.append(list(texts)) or encode(texts))
    img = load_task_rows(world, "vqa", prepare_task(world, "vqa"))[0]["image_path"]
    row = {"error": "", "image_path": img, "boxes": np.array([[0, 0, 20, 20], [10, 10, 40, 30]]),
           "box_labels": ["", "circle"], "statements": ["a red circle", "a red circle"],
           "keywords": [["red circle", "red", "circle"], []]}
    out = emb(rows_to_batch([row, {**row, "error": "read:x"}]))
    assert out["kw_embs"][0].shape == (2, 2, emb.dim) and out["kw_mask"][0].tolist() == \
        [[True, True], [False, False]]
    for key in ("image_emb", "region_embs", "tag_embs", "stmt_embs"):
        assert np.allclose(np.linalg.norm(out[key][0], axis=-1), 1.0, atol=1e-5)
    assert out["region_tags"][0][1] == "circle" and len(out["region_embs"][0]) == 2
    assert len(calls[-1]) == len(set(calls[-1]))  # every distinct text encoded once
    assert len(out["stmt_embs"][1]) == 0 and out["error"][1] == "read:x"
    n = len(calls)
    emb(rows_to_batch([row]))
    assert len(calls) == n  # second batch: every text from the cache
