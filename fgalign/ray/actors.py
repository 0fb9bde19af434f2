"""The actor classes of Ray Data pools.

- ``make_chunk_actor(stages)``: the pipeline's pool: the fused stages of one pool applied to
  each chunk of every input set (``fgalign.ray.executor``);
- ``apply_stage(ds, spec, max_restarts)``: one stage alone as its own ``map_batches`` actor
  pool over a dataset of rows. The pipeline does not use it; ``fgalign bench``'s embed group
  does, to time a CLIP stage's actor against a bare loop.

Kept apart from the executor so that an actor process imports only what its stages need:
unpickling a chunk actor imports ``fgalign.engine.chunks`` (pyarrow), and unpickling its steps
imports each stage's own module (``open_clip`` only for a CLIP stage). A score-only pool
therefore starts without open_clip, timm or transformers.
"""
from __future__ import annotations

import warnings
from typing import Any

from fgalign.engine.arrow import run_batch, to_arrow_table
from fgalign.engine.batch import Batch
from fgalign.engine.chunks import ChunkStage, Step
from fgalign.engine.rowguard import RowGuard


def pool_name(stages: tuple[str, ...]) -> str:
    """``("regions", "images")`` -> ``RegionsImagesChunks`` (the actors' process title)."""
    return "".join(s.capitalize() for s in stages) + "Chunks"


def make_chunk_actor(stages: tuple[str, ...]) -> type:
    """A callable class ``<Stage...>Chunks`` for ``map_batches``.

    Its constructor takes ``steps`` (``{stage: {set key: Step}}``) and ``threads`` (torch
    threads, ``fgalign.ray.runtime.actor_threads``; None: as Ray set them) and builds every
    stage object (and model) once; each call takes a batch of chunks
    (``fgalign.engine.chunks`` columns as numpy arrays) and runs every chunk through the
    pool's ``ChunkStage`` s in graph order, returning the same columns.
    """

    class ChunkActor:
        def __init__(self, steps: dict[str, dict[int, Step]], threads: int | None = None):
            if threads:  # before the models: ``model.num_threads``, when set, wins
                import torch

                torch.set_num_threads(threads)
            self.stages = [ChunkStage(stage, steps[stage]) for stage in stages]
            for chunk_stage in self.stages:  # build the models now, not on the first chunk
                chunk_stage.prepare()  # (a gated step's stage: its model now, itself after)

        def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
            import numpy as np

            outs = []
            for i in range(len(batch["set"])):
                chunk = {k: (v[i].item() if hasattr(v[i], "item") else v[i])
                         for k, v in batch.items()}
                for chunk_stage in self.stages:
                    chunk = chunk_stage(chunk)
                outs.append(chunk)
            return {k: (np.array([o[k] for o in outs], dtype=object) if k in ("path", "data")
                        else np.array([o[k] for o in outs])) for k in batch}

    ChunkActor.__name__ = ChunkActor.__qualname__ = pool_name(stages)
    ChunkActor.__module__ = __name__
    return ChunkActor


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
