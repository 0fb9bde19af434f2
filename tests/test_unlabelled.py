"""Splits without labels (every task) are predicted, never scored; empty splits are named.

finalize on hand-made rows, the printed table, report.md, and the readers' unlabelled rows.
"""
import json

import numpy as np
import pytest

from fgalign.experiment.finalize import finalize_task, format_table
from fgalign.experiment.report import write_report
from fgalign.load import build_config

CFG = build_config({"align": {"weights": {"region_word": 1.0}, "components": ["region_word"]},
                    "adapt": {"bootstrap": 20}})
VARIANTS = ["global", "global+region_word", "fusion"]
CTX = {"vqa": {"vqa": {"answer_vocab": ["red", "blue"], "answer_counts": [5, 3]}},
       "snli_ve": {"prior": [1, 5, 2]}, "vcr": {"prior": [0, 5, 0, 0], "prior_r": [3, 1, 0, 0]}}


def row(task, uid, target, error=""):
    r = {"uid": uid, "error": error, "target": target, "truncated_texts": 0}
    if task == "vqa":
        r.update(candidates=["red", "blue"], question_id=int(uid[1:]), answer_type="other")
        s = [0.2, 0.9]  # "blue" wins
    elif task == "snli_ve":
        s = [0.1, 0.2, 0.7]  # contradiction
    else:
        r.update(cand_group=[0, 0, 1, 1], rationale_label=-1 if target == -1 else 1)
        s = [0.0, 1.0, 0.0, 1.0]  # answer 1, rationale 1
    r.update({f"vscore_{v}": np.asarray(s, np.float32) for v in VARIANTS})
    return r


UNLABELLED = {"vqa": [], "snli_ve": -1, "vcr": -1}
GOLD = {"vqa": ["blue"] * 10, "snli_ve": 2, "vcr": 1}


@pytest.mark.parametrize("task", ["vqa", "snli_ve", "vcr"])
def test_unlabelled_split_is_predicted_not_scored(task, tmp_path):
    rows = [row(task, "q1", UNLABELLED[task]), row(task, "q2", UNLABELLED[task]),
            row(task, "q3", UNLABELLED[task], error="embed:missing_image")]
    res = finalize_task(CFG, task, CTX[task], rows)
    m = res["metrics"]
    assert m["labels"] is False and m["n"] == 3 and m["errors"] == {"embed:missing_image": 1}
    assert m["variants"] == {} and m["delta"] == {} and "unlabelled" not in m
    preds = res["predictions"]
    assert [p["pred_fusion"] for p in preds] == [{"vqa": 1, "snli_ve": 2, "vcr": 1}[task]] * 2 + [-1]
    assert all(p[f"credit_{v}"] is None for p in preds for v in ["prior"] + VARIANTS)
    if task == "vqa":
        assert res["results"] == [{"question_id": 1, "answer": "blue"},
                                      {"question_id": 2, "answer": "blue"},
                                      {"question_id": 3, "answer": ""}]
    # nothing prints a score: the table, report.md (and so the W&B dict: the empty variants)
    metrics = {"config_hash": "x", "tasks": {task: m}}
    table = format_table(metrics)
    assert "0.00" not in table and f"no labels in split {CFG.data.split}: 3 rows" in table
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    report = write_report(tmp_path).read_text()
    assert "0.00" not in report and "no labels in this split" in report
    assert "| variant |" not in report


@pytest.mark.parametrize("task", ["vqa", "snli_ve", "vcr"])
def test_mixed_split_scores_only_labelled_and_error_rows(task):
    rows = [row(task, "q1", GOLD[task]), row(task, "q2", UNLABELLED[task]),
            row(task, "q3", GOLD[task], error="keywords:ValueError")]
    rows[0]["truncated_texts"] = 2
    res = finalize_task(CFG, task, CTX[task], rows)
    m = res["metrics"]
    assert m["labels"] is True and m["unlabelled"] == 1 and m["truncated"] == 1
    assert m["variants"]["fusion"]["score"] == 50.0  # q1 right, q3 an error (wrong), q2 out
    assert [p["credit_fusion"] for p in res["predictions"]] == [100.0, None, 0.0]


def test_skipped_task_is_one_sentence_in_table_and_report(tmp_path):
    msg = "split test of snli_ve has no usable rows: 3 skipped for gold_label '-'"
    metrics = {"config_hash": "x", "tasks": {"snli_ve": {"split": "test", "n": 0,
                                                         "skipped": msg}}}
    assert format_table(metrics).splitlines()[1] == f"snli_ve  skipped: {msg}"
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    report = write_report(tmp_path).read_text()
    assert f"skipped: {msg}" in report and "0.00" not in report


def test_classification_predictions_carry_label_names():
    """SNLI-VE records name the predicted and the gold class next to their ids."""
    rows = [row("snli_ve", "p1", 2), row("snli_ve", "p2", -1),
            row("snli_ve", "p3", 0, error="embed:missing_image")]
    res = finalize_task(CFG, "snli_ve", CTX["snli_ve"], rows)
    p1, p2, p3 = res["predictions"]
    assert (p1["pred_fusion"], p1["pred_label_fusion"]) == (2, "contradiction")
    assert (p1["target"], p1["target_label"]) == (2, "contradiction")
    assert p1["pred_label_global"] == "contradiction" and p1["pred_label_prior"] == "neutral"
    assert (p2["target"], p2["target_label"]) == (-1, "")
    assert (p3["pred_fusion"], p3["pred_label_fusion"]) == (-1, "")
    assert res["metrics"]["metric"] == {"score": "accuracy",
                                        "per_class": "accuracy per gold class"}
    vcr = finalize_task(CFG, "vcr", CTX["vcr"], [row("vcr", "v1", 1)])["predictions"][0]
    assert not any(k.startswith("pred_label") or k == "target_label" for k in vcr)
