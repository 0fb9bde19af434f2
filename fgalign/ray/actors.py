"""One stage alone as a Ray Data actor pool.

``apply_stage(ds, spec, max_restarts)``: one stage as its own ``map_batches`` actor pool over a
dataset of rows. The pipeline does not use it (its executor streams chunks of every input set
through one pool per stage kind, ``fgalign.ray.executor``); ``fgalign bench``'s embed group
does, to time a CLIP stage's actor against a bare loop.
"""
from __future__ import annotations

import warnings
from typing import Any

from fgalign.engine.arrow import run_batch, to_arrow_table
from fgalign.engine.batch import Batch
from fgalign.engine.rowguard import RowGuard


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
        spec: a ``fgalign.engine.spec.StageSpec`` (name, cls, kwargs, resources, hash).
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
