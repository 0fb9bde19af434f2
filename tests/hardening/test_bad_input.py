"""Bad input through the whole Ray pipeline (pipelines/full.py): nothing lost, nothing invented.

One run (``bad_run`` in conftest.py) over a world with every kind of bad input planted (see
hardening_world.py), all three tasks, W&B on (offline) with a W&B key in the environment.
Then: rows in = rows out, each bad row carries its reason, metrics.json counts the errors, no
error row gets a prediction or credit, rows whose image has no regions are still scored, and
the key is in no written file.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hardening_support import REPO, SECRET
from hardening_world import REASON

from fgalign.load import load_config
from fgalign.schema import BUILTIN_TASKS as TASKS
from fgalign.tasks import read_task

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _inputs(root: Path, task: str) -> list[dict]:
    cfg = load_config(REPO / "configs" / "demo.yaml", [f"data.root={root}"])
    return read_task(task, root, "test", cfg.data)


def _predictions(run: Path) -> dict[str, list[dict]]:
    rows = pq.read_table(run / "predictions.parquet").to_pylist()
    by_task: dict[str, list[dict]] = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append(r)
    return by_task


@pytest.mark.parametrize("task", TASKS)
def test_rows_in_equal_rows_out(bad_run, bad_world, task):
    _, run, _ = bad_run
    expected = [r["uid"] for r in _inputs(bad_world[0], task)]
    got = [r["uid"] for r in _predictions(run)[task]]
    assert len(got) == len(expected) and sorted(got) == sorted(expected)
    metrics = json.loads((run / "metrics.json").read_text())["tasks"][task]
    assert metrics["n"] == len(expected)


@pytest.mark.parametrize("task", TASKS)
def test_each_bad_row_carries_its_error(bad_run, bad_world, task):
    _, run, planted = bad_run
    inputs = {r["uid"]: r for r in _inputs(bad_world[0], task)}
    errors = {r["uid"]: r["error"] for r in _predictions(run)[task]}
    for uid, reason in planted["records"][task].items():
        assert errors[uid] == reason, uid
    broken = {name: REASON[how] for name, how in planted["images"].items() if how in REASON}
    hit = Counter()
    for uid, row in inputs.items():
        name = Path(row["image_path"]).name
        if name in broken and not row["error"]:
            stage, _, reason = errors[uid].partition(":")
            assert stage in ("regions", "embed") and reason == broken[name], (uid, errors[uid])
            hit[broken[name]] += 1
    assert set(hit) == set(broken.values())  # every kind of broken file reached this task


@pytest.mark.parametrize("task", TASKS)
def test_metrics_count_every_error(bad_run, task):
    _, run, _ = bad_run
    preds = _predictions(run)[task]
    metrics = json.loads((run / "metrics.json").read_text())["tasks"][task]
    assert metrics["errors"] == dict(Counter(r["error"] for r in preds if r["error"]))
    assert sum(metrics["errors"].values()) > 0


@pytest.mark.parametrize("task", TASKS)
def test_no_error_row_is_predicted_or_credited(bad_run, task):
    _, run, _ = bad_run
    for r in _predictions(run)[task]:
        if r["error"]:
            # (columns of another task, e.g. VCR's pred_r_* on a VQA row, are None)
            preds = {k: v for k, v in r.items() if k.startswith("pred_") and v is not None
                     and not k.startswith("pred_label_")}
            labels = {v for k, v in r.items() if k.startswith("pred_label_")}
            assert labels <= {"", None}, r  # no label name for a row with no prediction
            credits = {k: v for k, v in r.items() if k.startswith("credit_") and v is not None}
            assert preds and set(preds.values()) == {-1}, r
            assert credits and set(credits.values()) == {0.0}, r
    # so the headline score cannot exceed the share of good rows
    metrics = json.loads((run / "metrics.json").read_text())["tasks"][task]
    good = sum(1 for r in _predictions(run)[task] if not r["error"])
    for variant in metrics["variants"].values():
        assert variant["score"] <= 100.0 * good / metrics["n"] + 1e-6


def test_images_without_regions_are_still_scored(bad_run, bad_world):
    _, run, planted = bad_run
    blank = next(name for name, how in planted["images"].items() if how == "blank")
    inputs = {r["uid"]: r for t in TASKS for r in _inputs(bad_world[0], t)}
    rows = [r for t in TASKS for r in _predictions(run)[t]
            if Path(inputs[r["uid"]]["image_path"]).name == blank]
    assert rows
    for r in rows:
        assert r["error"] == "" and r["pred_fusion"] >= 0 and r["pred_global"] >= 0, r


def test_wandb_key_is_in_no_written_file(bad_run):
    out, run, _ = bad_run
    assert list(run.rglob("*.wandb")), "the offline W&B run was not written"
    leaked = [str(p) for p in out.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []
