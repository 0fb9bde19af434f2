"""Arrow conversion and row isolation shared by both executors.

- ``to_arrow_table(batch)``: a stage's output batch as an Arrow table whose schema does not
  depend on the batch (every part file of a cache has the same schema);
- ``run_batch(stage, name, batch, guard)``: ``stage(batch)`` with rows that raise isolated
  (``fgalign.engine.rowguard``: error rows; ``StageBroken`` past ``ray.row_failures``).

The cache files use Ray's Arrow tensor types (``ray.data.extensions``, loaded here when a
batch has tensor columns): the on-disk format, not the Ray executor.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.engine.batch import Batch
from fgalign.engine.rowguard import RowGuard, concat_batches, num_rows  # noqa: F401 - re-exported


def _to_lists(v: Any) -> Any:
    """Non-numeric ndarrays (strings, ragged objects) → nested lists; numeric arrays kept."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "OUS":
        return [_to_lists(x) for x in v]
    if isinstance(v, list):
        return [_to_lists(x) for x in v]
    return v


def _object_array(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _tensor_cells(v: np.ndarray) -> np.ndarray | None:
    """Per-row numeric arrays of one column as an object array, or None if it is not one.

    A column is a tensor column when it is a numeric array with ndim >= 2 (one row per leading
    index) or an object array whose cells are numeric ndarrays of one ndim; empty cells
    (``[]``, ``None``, size-0 arrays of another ndim: error rows) become size-0 arrays of that
    ndim and dtype.
    Floating cells are stored as float32 (the stage columns of ``fgalign.schema``), so a batch
    whose first row happens to be float64 does not change the column type.
    """
    if v.dtype != object:
        if v.ndim < 2:
            return None
        v = _object_array(list(v))
    ref = next((x for x in v if isinstance(x, np.ndarray) and x.size), None)
    if ref is None:  # every cell empty (e.g. a block of error rows): still a tensor column
        ref = next((x for x in v if isinstance(x, np.ndarray) and x.ndim), None)
    if ref is None or ref.dtype.kind not in "biuf":
        return None
    dtype = np.float32 if ref.dtype.kind == "f" else ref.dtype  # schema.py: floats are float32
    cells = []
    for x in v:
        if isinstance(x, np.ndarray) and x.ndim == ref.ndim and x.dtype.kind in "biuf":
            cells.append(x.astype(dtype, copy=False))  # (0, D) stays (0, D)
        elif x is None or (isinstance(x, (list, np.ndarray)) and len(x) == 0):
            cells.append(np.zeros((0,) * ref.ndim, dtype))
        else:
            return None
    return _object_array(cells)


def to_arrow_table(batch: Batch) -> Any:
    """A stage's output batch as an Arrow table whose schema does not depend on the batch.

    Per-row numeric arrays always become Ray's variable-shaped tensor type (left to itself,
    Ray picks a fixed-shape type when every row of a block happens to have the same shape, and
    blocks then no longer merge). String / nested list cells become Arrow lists (Ray would
    pickle object arrays of ndarrays, and pickled columns cannot be read back without an
    opt-in). Everything else is converted by Ray.
    """
    import pyarrow as pa
    from ray.data.block import BlockAccessor
    from ray.data.extensions import ArrowVariableShapedTensorArray

    tensors = {k: c for k, c in ((k, _tensor_cells(v)) for k, v in batch.items()) if c is not None}
    rest = {k: (_object_array([_to_lists(x) for x in v]) if v.dtype == object else v)
            for k, v in batch.items() if k not in tensors}
    table = BlockAccessor.batch_to_block(rest) if rest else None
    columns = [ArrowVariableShapedTensorArray.from_numpy(tensors[k]) if k in tensors
               else table.column(k) for k in batch]
    return pa.Table.from_arrays(columns, names=list(batch))


def run_batch(stage: Any, name: str, batch: Batch, guard: RowGuard | None = None) -> Batch:
    """``stage(batch)`` with rows that raise isolated (see ``fgalign.engine.rowguard``)."""
    return (guard or RowGuard(name))(stage, batch)
