"""Apply one Ray-free stage to a Ray Dataset as a fixed-size pool of actors.

``apply_stage(ds, spec, ray_cfg)`` is the only place that calls ``map_batches``: the stage
class, its constructor kwargs and its resources (``num_cpus``, ``num_gpus``, ``concurrency``,
``batch_size`` from ``cfg.ray.stages[<stage>]``) all come from the ``StageSpec``, none are
written at a call site. The actor builds the stage once in ``__init__`` (models load there)
and then maps batches:

- reads: whatever the stage reads (``dict[str, np.ndarray]`` batches as Ray Data gives them);
- adds: whatever the stage adds; rows are never dropped (``udf_modifying_row_count=False``);
- a batch that raises is retried row by row; a row that still raises gets
  ``error="<stage>:<ExceptionType>"`` and goes through the stage again as an error row (which
  the stage passes through with empty values). If every row of a batch raises, the error is a
  bug, not bad data, and is raised.
- output columns are made Arrow-friendly: Ray turns list columns into object arrays of
  ndarrays, which it cannot convert back (it would pickle them, and pickled columns cannot be
  read back without an opt-in); ``arrow_friendly`` turns them into nested lists again.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

Batch = dict[str, np.ndarray]


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


def arrow_friendly(batch: Batch) -> Batch:
    """Object columns with ndarray / list cells → cells of nested lists or numeric ndarrays."""
    out = {}
    for k, v in batch.items():
        if v.dtype == object and any(isinstance(x, (np.ndarray, list)) for x in v):
            out[k] = _object_array([_to_lists(x) for x in v])
        else:
            out[k] = v
    return out


def num_rows(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def concat_batches(batches: list[Batch]) -> Batch:
    """Row-wise concatenation; columns whose shapes differ become object arrays of rows."""
    out = {}
    for k in batches[0]:
        parts = [b[k] for b in batches]
        try:
            out[k] = np.concatenate(parts)
        except ValueError:  # e.g. (1, 3, D) and (1, 5, D) per-row arrays
            out[k] = _object_array([row for p in parts for row in p])
    return out


def run_batch(stage: Any, name: str, batch: Batch) -> Batch:
    """``stage(batch)``, isolating rows that raise (see the module docstring)."""
    try:
        return stage(batch)
    except Exception:  # retried row by row below
        n = num_rows(batch)
        outs, failed = [], 0
        for i in range(n):
            row = {k: v[i:i + 1] for k, v in batch.items()}
            try:
                outs.append(stage(row))
            except Exception as e:  # noqa: BLE001 - recorded on the row
                failed += 1
                log.warning("stage %s failed on row %s: %r", name, row.get("uid"), e)
                row["error"] = np.array([f"{name}:{type(e).__name__}"], dtype=object)
                outs.append(stage(row))
        if failed == n:
            raise  # the whole batch failing is a bug, not bad data
        return concat_batches(outs)


def make_actor_class(spec: Any) -> type:
    """A callable class named ``<StageClass>Actor`` that builds ``spec.cls`` once per actor."""
    stage_cls, name = spec.cls, spec.name

    class StageActor:
        def __init__(self, **kwargs: Any):
            self.stage = stage_cls(**kwargs)

        def __call__(self, batch: Batch) -> Batch:
            return arrow_friendly(run_batch(self.stage, name, batch))

    StageActor.__name__ = StageActor.__qualname__ = f"{stage_cls.__name__}Actor"
    return StageActor


def apply_stage(ds: Any, spec: Any, max_restarts: int) -> Any:
    """``ds.map_batches`` over an actor pool running ``spec`` with ``spec.resources``.

    Args:
        ds: a ``ray.data.Dataset`` of rows (and the columns of earlier stages).
        spec: a ``fgalign.stages.StageSpec`` (name, cls, kwargs, resources, hash).
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
