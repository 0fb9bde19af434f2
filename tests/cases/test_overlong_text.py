"""Case ``overlong-text``: one hypothesis past spaCy's nlp.max_length is one error row.

Both paths, at the default batch size and with the row alone in its batch (keywords batch
size 5 puts the 11th row alone). Every other row is scored.
"""
import json

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow
LONG = "snli_ve:test:2900.jpg#0r0long"


def check(run_dir):
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]["snli_ve"]
    assert m["n"] == 11 and m["errors"] == {"keywords:ValueError": 1}
    preds = {r["uid"]: r for r in pq.read_table(run_dir / "predictions.parquet").to_pylist()}
    assert len(preds) == 11 and preds[LONG]["error"] == "keywords:ValueError"
    assert [u for u, r in preds.items() if r["error"]] == [LONG]
    assert all(r["pred_fusion"] >= 0 for u, r in preds.items() if u != LONG)


@pytest.mark.parametrize("batch", [32, 5, 1])
def test_inprocess(run_case, batch):
    code, run_dir = run_case("evaluate", "overlong-text", f"ray.stages.keywords.batch_size={batch}",
                             "logging.figures=0")
    assert code == 0
    check(run_dir)


@pytest.mark.ray
@pytest.mark.parametrize("batch", [5])  # the size that failed on Ray: the bad row alone in its
def test_ray(ray_session, run_case, batch):  # batch (other sizes: same RowGuard, in-process)
    code, run_dir = run_case("run", "overlong-text", f"ray.stages.keywords.batch_size={batch}")
    assert code == 0
    check(run_dir)
