"""Arrow conversion and row isolation shared by both executors, and one stage alone as a pool.

- ``to_arrow_table(batch)``: a stage's output batch as an Arrow table whose schema does not
  depend on the batch (every part file of a cache has the same schema);
- ``run_batch(stage, name, batch, guard)``: ``stage(batch)`` with rows that raise isolated
  (``fgalign.engine.rowguard``: error rows; ``StageBroken`` past ``ray.row_failures``);
- ``apply_stage(ds, spec, max_restarts)``: one stage as its own ``map_batches`` actor pool
  over a dataset of rows. The pipeline does not use it (its executor streams chunks of every
  input set through one pool per stage kind, ``fgalign.ray.executor``); ``fgalign bench``'s
  embed group does, to time a CLIP stage's actor against a bare loop.
"""
from __future__ import annotations

import warnings
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


def make_actor_class(spec: Any) -> type:
    """A callable class named ``<StageClass>Actor`` that builds ``spec.cls`` once per actor."""
    stage_cls, name = spec.cls, spec.name
    share, min_rows = spec.row_failures.max_share, spec.row_failures.min_rows

    class StageActor:
        def __init__(self, **kwargs: Any):
            self.stage = stage_cls(**kwargs)
            self.guard = RowGuard(name, share, min_rows)  # counts this actor's rows and failures

        def __call__(self, batch: Batch) -> Batch:
            return to_arrow_table(run_batch(self.stage, name, batch, self.guard))

    StageActor.__name__ = StageActor.__qualname__ = f"{stage_cls.__name__}Actor"
    return StageActor


def apply_stage(ds: Any, spec: Any, max_restarts: int) -> Any:
    """``ds.map_batches`` over an actor pool running ``spec`` with ``spec.resources``.

    Args:
        ds: a ``ray.data.Dataset`` of rows (and the columns of earlier stages).
        spec: a ``fgalign.experiment.plan.StageSpec`` (name, cls, kwargs, resources, hash).
        max_restarts: actor restarts after a crash (``cfg.ray.max_restarts``); each batch of a
            crashed actor is retried as often.
    """
    import ray.data

    res = spec.resources
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameter for actor restarts yet; they still go through
        # **ray_remote_args, which warns that it is deprecated.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map_batches(
            make_actor_class(spec),
            fn_constructor_kwargs=spec.kwargs,
            compute=ray.data.ActorPoolStrategy(size=res.concurrency),
            batch_size=res.batch_size,
            num_cpus=res.num_cpus,
            num_gpus=res.num_gpus,
            udf_modifying_row_count=False,
            max_restarts=max_restarts,
            max_task_retries=max_restarts,
        )
