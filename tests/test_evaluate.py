"""fgalign evaluate: metrics.json schema, outputs, CLI, and finalize on hand-made rows."""
import json
from pathlib import Path

import numpy as np
import pytest

from fgalign.data.synth.contrast import FAMILIES, read_contrasts
from fgalign.experiment.finalize import finalize_task
from fgalign.load import build_config
from fgalign.metrics.families import by_family
from fgalign.tasks import get_task
from fgalign.variants import variant_names

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
                                       "global+region_sentence", "global+tag_text",
                                       "global+count", "global+size", "global+relation",
                                       "fusion"] \
            + (["oracle"] if task == "vqa" else [])  # VQA: the retrieval cut's oracle
        world_root = Path(overrides[0].split("=", 1)[1])
        fams = read_contrasts(world_root, "test")[get_task(task).contrast_table]
        for v, e in m["variants"].items():  # every variant, per contrast family of the world
            by = e["by_family"]
            assert sum(x["n"] for x in by.values()) == m["n"], (task, v)
            assert set(by) <= set(FAMILIES) | {"neutral", "unknown", "mixed"}
            assert set(by) - {"neutral"} <= set(fams.values()) | {"unknown"}
            for x in by.values():
                assert x["ci95"][0] <= x["score"] <= x["ci95"][1] and 0 <= x["score"] <= 100
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


def test_by_family_scores_counts_and_intervals():
    got = by_family(["color", "count", "color", "count", "count"], [100, 0, 0, 100, 100], n=200)
    assert got["color"]["score"] == 50.0 and got["color"]["n"] == 2
    assert got["count"]["score"] == pytest.approx(66.67) and got["count"]["n"] == 3
    lo, hi = got["count"]["ci95"]
    assert 0.0 <= lo <= 66.67 <= hi <= 100.0 and lo < hi
    assert by_family(["a", "a"], [100, 100])["a"]["ci95"] == [100.0, 100.0]
    with pytest.raises(ValueError, match="2 families for 1 credits"):
        by_family(["a", "b"], [1.0])


def test_finalize_reports_by_family_only_with_a_contrast_file(tmp_path):
    cfg = build_config({"adapt": {"bootstrap": 20}, "data": {"root": str(tmp_path)}})
    rows = []
    for i in range(3):  # rows 0 and 1 right (candidate 0), row 2 wrong
        s = np.asarray([1.0, 0.0, 1.0, 0.0] if i != 2 else [0.0, 1.0, 1.0, 0.0], np.float32)
        rows.append({"uid": str(i), "error": "", "annot_id": f"val-{i}", "target": 0,
                     "rationale_label": 0, "cand_group": [0, 0, 1, 1],
                     **{f"vscore_{v}": s for v in variant_names(cfg.align)}})
    ctx = {"prior": [1, 0], "prior_r": [1, 0]}
    m = finalize_task(cfg, "vcr", ctx, rows)["metrics"]
    assert all("by_family" not in e for e in m["variants"].values())  # a real dataset: none
    (tmp_path / "contrasts_test.jsonl").write_text("".join(
        json.dumps({"task": "vcr_q2a", "id": f"val-{i}", "family": f}) + "\n"
        for i, f in enumerate(["color", "count", "count"])))
    m = finalize_task(cfg, "vcr", ctx, rows)["metrics"]
    fam = m["variants"]["fusion"]["by_family"]
    assert fam["color"] == {"score": 100.0, "n": 1, "ci95": [100.0, 100.0]}
    assert fam["count"]["score"] == 50.0 and fam["count"]["n"] == 2
