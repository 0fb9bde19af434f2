"""Dict-batch helpers shared by every stage, the executors and scoring (numpy only).

A dict-batch is what Ray Data's ``map_batches(batch_format="numpy")`` passes and what the
in-process executor builds: ``{column: 1-D array of N cells}``. Ragged cells (lists, arrays of
varying shape) live in object arrays. Rows in = rows out everywhere: helpers never drop a row.
"""
from __future__ import annotations

from typing import Any

import numpy as np

Batch = dict[str, np.ndarray]


def object_column(values: list) -> np.ndarray:
    """A 1-D object array (N,) holding ``values`` as they are (no broadcasting of nested arrays)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def num_rows(batch: Batch) -> int:
    """Rows in a dict-batch (length of its first column; 0 for an empty dict)."""
    return len(next(iter(batch.values()))) if batch else 0


def row_errors(batch: Batch) -> list[str]:
    """The ``error`` column as N strings ("" where the column is absent or a cell is None)."""
    n = num_rows(batch)
    if "error" not in batch:
        return [""] * n
    return ["" if e is None else str(e) for e in batch["error"]]


def as_list(cell: Any) -> list:
    """A list-column cell as a Python list: None → ``[]``; a ``str`` / ``bytes`` is ONE item
    (``"red"`` → ``["red"]``, never its characters); any other iterable (list, tuple, numpy
    array, Arrow-converted list) → its elements, not converted further."""
    if cell is None:
        return []
    if isinstance(cell, (str, bytes)):
        return [cell]
    return list(cell)


def rows_to_batch(rows: list[dict]) -> Batch:
    """Row dicts → a dict-batch: every column an object array (as Ray gives ragged ones);
    a key missing from a row gives None in that cell."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: object_column([r.get(k) for r in rows]) for k in keys}


def batch_to_rows(batch: Batch) -> list[dict]:
    """A dict-batch → N row dicts (cells as stored)."""
    return [{k: v[i] for k, v in batch.items()} for i in range(num_rows(batch))]
