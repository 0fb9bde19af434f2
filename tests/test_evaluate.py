"""fgalign evaluate: metrics.json schema, outputs, CLI, and finalize on hand-made rows."""
import json
from pathlib import Path

import numpy as np
import pytest

from fgalign.config import build_config
from fgalign.experiment.finalize import finalize_task

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def overrides(tmp_path_factory):
    base = tmp_path_factory.mktemp("eval")
    return [f"data.root={base / 'w'}", "data.synth.images=30", "data.synth.image_size=64",
            "data.synth.seed=5", "data.limit=5", "model.name=test-tiny",
            "tasks.snli_ve.train_limit=30", "tasks.snli_ve.val_limit=12",
            "tasks.snli_ve.steps=10", "adapt.bootstrap=50", "logging.figures=2",
            f"experiment.output_dir={base / 'runs'}"]


def test_cli_writes_metrics_predictions_results_figures(overrides, capsys):
    from fgalign.cli import main

    argv = ["evaluate", "--config", "configs/demo.yaml", "--json"]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 0
    metrics = json.loads(capsys.readouterr().out)
    run = metrics["run_dir"]
    assert json.loads(Path(f"{run}/metrics.json").read_text())["config_hash"] == metrics["config_hash"]
    # the world's identity comes from its world.json (generated here: root was missing)
    world = json.loads(Path(overrides[0].split("=", 1)[1], "world.json").read_text())
    assert metrics["world"] == {k: world[k] for k in ("format_version", "seed", "images",
                                                      "image_size", "fingerprint")}
    assert metrics["world"]["seed"] == 5 and metrics["world"]["images"] == 30
    saved = (Path(run) / "config.yaml").read_text()
    assert world["fingerprint"] in saved and "vqa_image_template: COCO_{split}_{image_id:012d}.png" in saved
    for task in ("vqa", "snli_ve", "vcr"):
        m = metrics["tasks"][task]
        assert m["split"] == "test" and m["n"] == 5 and m["errors"] == {}
        assert list(m["variants"]) == ["prior", "global", "global+region_word",
                                       "global+region_sentence", "global+tag_text", "fusion"] \
            + (["oracle"] if task == "vqa" else [])  # VQA: the retrieval cut's oracle
        d = m["delta"]["fusion_vs_global"]
        assert d["ci95"][0] <= d["mean"] <= d["ci95"][1]
    assert "perAnswerType" in metrics["tasks"]["vqa"]["variants"]["fusion"]
    r = metrics["tasks"]["vqa"]["retrieval"]  # recall@k of the first pass, on labelled rows
    assert r["k"] == 32 and r["n"] == 5 and 0 <= r["recall@k"] <= r["vocab_coverage"] <= 100
    assert "per_class" in metrics["tasks"]["snli_ve"]["variants"]["global"]
    assert {"q2a", "qa2r", "q2ar"} <= set(metrics["tasks"]["vcr"]["variants"]["fusion"])
    results = json.loads(Path(f"{run}/vqa_results.json").read_text())
    assert len(results) == 5 and set(results[0]) == {"question_id", "answer"}
    import pyarrow.parquet as pq

    assert pq.read_table(f"{run}/predictions.parquet").num_rows == 15
    for task in ("vqa", "snli_ve", "vcr"):
        assert Path(f"{run}/figures/{task}_alignment.png").read_bytes()[:4] == b"\x89PNG"


def _vcr_row(uid, scores, target, rlabel, error=""):
    return {"uid": uid, "error": error, "target": target, "rationale_label": rlabel,
            "cand_group": [0, 0, 1, 1], **{f"vscore_{v}": np.asarray(s, np.float32)
                                          for v, s in scores.items()}}


def test_finalize_vcr_by_hand():
    cfg = build_config({"align": {"weights": {"region_word": 1.0}, "components": ["region_word"]},
                        "adapt": {"bootstrap": 20}})
    ctx = {"prior": [0, 5], "prior_r": [3, 1]}
    good = {"global": [0.0, 1.0, 1.0, 0.0], "global+region_word": [1.0, 0.0, 1.0, 0.0],
            "fusion": [1.0, 0.0, 1.0, 0.0]}
    rows = [_vcr_row("a", good, 0, 0), _vcr_row("b", good, 0, 1),
            _vcr_row("c", {}, 0, 0, error="embed:missing")]
    m = finalize_task(cfg, "vcr", ctx, rows)["metrics"]
    assert m["n"] == 3 and m["errors"] == {"embed:missing": 1}
    f = m["variants"]["fusion"]
    assert (f["q2a"], f["qa2r"], f["q2ar"]) == (66.67, 33.33, 33.33)  # error row counts as wrong
    assert m["variants"]["global"]["q2a"] == 0.0
    assert m["variants"]["prior"]["q2a"] == 0.0 and m["variants"]["prior"]["qa2r"] == 33.33
    assert m["delta"]["fusion_vs_global"]["mean"] == pytest.approx(66.67, abs=0.01)
