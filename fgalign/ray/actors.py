"""The actor class of a Ray Data pool: the fused stages of one pool applied to each chunk.

Kept apart from the executor (``fgalign.ray.graph``) so that an actor process imports only
what its stages need: unpickling this class imports ``fgalign.engine.chunks`` (pyarrow), and
unpickling its steps imports each stage's own module (``open_clip`` only for a CLIP stage).
A score-only pool therefore starts without open_clip, timm or transformers.
"""
from __future__ import annotations

from typing import Any

from fgalign.engine.chunks import ChunkStage, Step


def pool_name(stages: tuple[str, ...]) -> str:
    """``("regions", "images")`` -> ``RegionsImagesChunks`` (the actors' process title)."""
    return "".join(s.capitalize() for s in stages) + "Chunks"


def make_chunk_actor(stages: tuple[str, ...]) -> type:
    """A callable class ``<Stage...>Chunks`` for ``map_batches``.

    Its constructor takes ``steps`` (``{stage: {set key: Step}}``) and builds every stage
    object (and model) once; each call takes a batch of chunks (``fgalign.engine.chunks``
    columns as numpy arrays) and runs every chunk through the pool's ``ChunkStage`` s in
    graph order, returning the same columns.
    """

    class ChunkActor:
        def __init__(self, steps: dict[str, dict[int, Step]]):
            self.stages = [ChunkStage(stage, steps[stage]) for stage in stages]
            for chunk_stage in self.stages:  # build the models now, not on the first chunk
                for step in chunk_stage.steps.values():
                    chunk_stage._stage(step)

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
