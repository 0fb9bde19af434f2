"""Dict-batch helpers (fgalign.engine.batch) and the layering they allow: scoring without cv2."""
import subprocess
import sys

import numpy as np

from fgalign.engine.batch import (
    as_list,
    batch_to_rows,
    num_rows,
    object_column,
    row_errors,
    rows_to_batch,
)


def test_as_list_keeps_strings_whole():
    assert as_list(None) == []
    assert as_list("red") == ["red"] and as_list(b"x") == [b"x"]
    assert as_list(("a", "b")) == ["a", "b"]
    assert as_list(np.array(["a", "bc"], dtype=object)) == ["a", "bc"]
    nested = as_list(np.array([[1, 2], [3, 4]]))
    assert len(nested) == 2 and nested[1].tolist() == [3, 4]  # elements, not converted further
    assert as_list([]) == []


def test_object_column_keeps_nested_arrays_per_row():
    col = object_column([np.zeros((2, 3)), np.zeros((0, 3)), None])
    assert col.shape == (3,) and col.dtype == object
    assert col[0].shape == (2, 3) and col[1].shape == (0, 3) and col[2] is None


def test_rows_round_trip_and_errors():
    rows = [{"uid": "a", "error": ""}, {"uid": "b", "error": "read:x", "extra": [1]}, {"uid": "c"}]
    batch = rows_to_batch(rows)
    assert num_rows(batch) == 3 and num_rows({}) == 0
    assert row_errors(batch) == ["", "read:x", ""]  # missing cell → None → ""
    assert row_errors({"uid": np.array(["a", "b"])}) == ["", ""]
    back = batch_to_rows(batch)
    assert [r["uid"] for r in back] == ["a", "b", "c"] and back[1]["extra"] == [1]
    assert back[0]["extra"] is None


def test_scoring_adaptation_and_sweep_do_not_import_regions_or_cv2():
    code = ("import sys, fgalign.align.stage, fgalign.adapt, fgalign.sweep, fgalign.ablate; "
            "print(sorted(m for m in sys.modules if m == 'cv2' or m.startswith('fgalign.regions')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
