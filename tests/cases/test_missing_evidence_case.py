"""Input ``tests/fixtures/inputs/missing-evidence`` (issue 19 kind 2), in process.

SNLI-VE test rows with hypothesis "." (no keyword) and a blank image (no region from the
weights-free proposer): every row is scored, metrics.json counts them, and "." is no longer
the most confident entailment of the split (its components are the global score, masked in
the classifier). Same at keywords batch size 1 and the default, in process and on Ray.
"""
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "tests/fixtures/inputs/missing-evidence"
DOT = "snli_ve:test:2900.jpg#0r0dot"


@pytest.mark.parametrize("command", ["evaluate", pytest.param("run", marks=pytest.mark.ray)])
@pytest.mark.parametrize("batch", [32, 1])
def test_both_paths(run_input, command, batch):
    run_dir = run_input(command, CASE, f"ray.stages.keywords.batch_size={batch}",
                       f"ray.stages.score.batch_size={batch}")
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]["snli_ve"]
    assert m["n"] == 13 and m["errors"] == {}
    assert m["no_keywords"] == 1 and m["no_regions"] == 1
    preds = {r["uid"]: r for r in pq.read_table(run_dir / "predictions.parquet").to_pylist()}
    assert all(r["pred_fusion"] >= 0 for r in preds.values())
    assert preds[DOT]["pred_fusion"] != 0  # not "entailment" on no evidence at all
    assert np.isfinite([r["credit_fusion"] for r in preds.values()]).all()
