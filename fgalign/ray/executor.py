"""The Ray Data executor of the stage graph (``fgalign.engine.runner.Runner`` decides what runs).

One execution is one streaming Ray Data dataset over the chunks of every input set it was
given (``fgalign.engine.chunks``): one row per chunk, ``from_items`` with one block a chunk,
then one ``map_batches`` actor pool per group of stage kinds, in graph order::

    Chunks -> MapBatches(RegionsImagesChunks)                         (the demo: CPU only)
    Chunks -> MapBatches(CandidatesKeywordsEmbedScoreChunks)
    Chunks -> MapBatches(RegionsChunks) -> MapBatches(ImagesChunks)    (images on a GPU)

**Pools.** Consecutive stage kinds with the same ``ray.stages.<stage>`` resources
(``num_cpus``, ``num_gpus``, ``concurrency``) share one pool (``fuse_pools``: Ray Data's own
operator-fusion rule): its actors run the fused stages one after the other on each chunk.
A stage whose resources differ (a GPU stage between CPU stages, or a stage given more actors)
is its own pool, and Ray Data's streaming executor runs the pools at the same time, so a GPU
stage embeds chunk i+1 while a CPU pool extracts keywords of chunk i+2. Fusion is chosen over
one pool per stage because every pool costs an actor process that imports torch, open_clip
and spaCy (3-10 s each on 2 cores, BENCHMARKS.md): where stages need the same resources,
separate pools buy overlap only by paying that again, and on a small CPU cluster they compete
for the same cores anyway.

**Actors per pool.** ``concurrency``, or with ``rows_per_actor`` one actor per that many input
rows of the execution, at most ``concurrency`` (``pool_actors``): the default row pool
starts a second actor only for an execution long enough to repay its start-up (the demo's
1500-scene world, not a 300-scene one; BENCHMARKS.md). ``actors`` and the run's
``timings.json`` say how many each pool had. On the local cluster each actor runs torch on
its share of the node's CPUs (``actor_threads``), not on the one thread Ray's logical
``num_cpus`` would give it.

Each pool builds its stages (and models) once, in its actors' ``__init__``, and serves every
input set of the execution. A chunk's rows move between stages through the Parquet file the
previous stage wrote into its cache directory (the dataset carries paths, not rows), and the
driver commits a set's caches as soon as its last chunk leaves the last pool. ``batch_size``
inside a pool is each stage's own (``resources.batch_size``), applied within the chunk, so
batches never mix input sets.
"""
from __future__ import annotations

import gc
import re
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from fgalign.engine.cache import StageCache
from fgalign.engine.chunks import (
    SetPlan,
    Step,
    operator_stages,
    set_chunks,
    stage_steps,
)
from fgalign.engine.runner import StageError, StageRecord, plan_start, run_chain, written_rows
from fgalign.ray.actors import make_chunk_actor, pool_name
from fgalign.ray.runtime import (
    actor_threads,
    check_execution_resources,
    fuse_pools,
    pool_actors,
    pool_totals,
)

__all__ = ["RayExecutor", "StageError", "StageRecord", "check_execution_resources",
           "fuse_pools", "operator_chain", "plan_start", "run_task_graph"]

SCALARS = ("set", "part", "path", "data")


class RayExecutor:
    """Runs the sets of an execution as one streaming Ray Data dataset (module docstring).

    Args:
        ray_cfg: ``cfg.ray`` (``stages``, ``max_restarts``, ``address``).
        before_compute: called before each execution (the pipeline's ``LazyRay.ensure``,
            idempotent: a fully cached run never starts Ray).
    """


    def __init__(self, ray_cfg: Any, before_compute: Callable[[], None] | None = None):
        self.ray_cfg, self.before_compute, self.operators = ray_cfg, before_compute, ""
        self.startup_s = 0.0  # last execution: seconds until its first chunk was back, less
        # that chunk's stage seconds (pool start-up: actor processes, imports, models)
        self.actors: dict[str, int] = {}  # last execution: actors per pool (``pool_actors``)
        self.threads: int | None = None  # last execution: torch threads per actor
        # (``actor_threads``; None on a cluster at ``ray.address``: Ray's default)

    def schedule(self, first: list[SetPlan], second: list[SetPlan]) -> str:
        """How the executions of ``first`` (images) and ``second`` (rows, which wait at a
        gate for ``first``'s caches) run, for ``fgalign.engine.runner.Runner``:

        - ``"overlap"``: two executions at the same time, when the pools of both fit the
          local cluster's CPUs and GPUs together, or on a cluster at ``ray.address`` (its
          autoscaler adds nodes): the row pools start and load their models while the
          images are computed;
        - ``"sequential"``: one after the other (the pools would wait for each other's
          resources anyway).

        Starts Ray (``start``).
        """
        import ray

        self.start()
        ops1, ops2 = operator_stages(first), operator_stages(second)
        if self.ray_cfg.address is not None:
            return "overlap"
        (c1, g1), (c2, g2) = pool_totals(self.ray_cfg, ops1), pool_totals(self.ray_cfg, ops2)
        have = ray.cluster_resources()
        fits = (c1 + c2 <= have.get("CPU", 0.0) + 1e-9
                and g1 + g2 <= have.get("GPU", 0.0) + 1e-9)
        return "overlap" if fits else "sequential"

    def start(self) -> None:
        """Run ``before_compute`` (start Ray, or wait for its start; again after a stop)
        before each execution."""
        if self.before_compute is not None:
            self.before_compute()

    def execute(self, plans: list[SetPlan], done: Callable[[int, dict[str, float]], None],
                check: Callable[[], None] | None = None) -> None:
        import ray
        import ray.data

        self.start()
        ops = operator_stages(plans)
        if self.ray_cfg.address is None:  # a fixed local cluster: the pools must fit
            check_execution_resources(self.ray_cfg, ops, ray.cluster_resources())
        chunks = [c for p in plans for c in set_chunks(p, ops)]
        expected = Counter(c["set"] for c in chunks)
        ds = ray.data.from_items(chunks, override_num_blocks=len(chunks))
        steps = {op: stage_steps(plans, op) for op in ops}
        pools = fuse_pools(ops, {op: pool_resources(steps[op]) for op in ops})
        self.actors = {}
        for pool in pools:
            rows = sum(p.n for p in plans if set(p.stages) & set(pool))
            self.actors[pool_name(pool)] = pool_actors(pool_resources(steps[pool[0]]), rows)
        self.threads = (actor_threads(ray.cluster_resources().get("CPU", 1.0),
                                      sum(self.actors.values()))
                        if self.ray_cfg.address is None else None)
        for pool in pools:
            ds = apply_chunk_pool(ds, pool, {op: steps[op] for op in pool},
                                  self.ray_cfg.max_restarts, self.actors[pool_name(pool)],
                                  self.threads)
        self.operators = "->".join(["FromItems"] + [f"MapBatches({pool_name(p)})"
                                                    for p in pools])
        got: Counter = Counter()
        times: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        stages = {p.key: p.stages for p in plans}
        start, first = time.perf_counter(), True
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                if first:
                    busy = sum(float(batch[f"t_{s}"][i]) for i, key in
                               enumerate(batch["set"].tolist()) for s in stages[key])
                    self.startup_s, first = max(time.perf_counter() - start - busy, 0.0), False
                for i, key in enumerate(batch["set"].tolist()):
                    got[key] += 1
                    for s in stages[key]:
                        times[key][s] += float(batch[f"t_{s}"][i])
                    if got[key] == expected[key]:
                        done(key, dict(times[key]))
                if check is not None:
                    check()
        finally:
            del ds
            gc.collect()


def pool_resources(steps: dict[int, Step]) -> Any:
    """The resources of the pool running ``steps``: its stage's ``cfg.ray.stages`` entry."""
    return next(iter(steps.values())).spec.resources


def apply_chunk_pool(ds: Any, stages: tuple[str, ...], steps: dict[str, dict[int, Step]],
                     max_restarts: int, actors: int, threads: int | None) -> Any:
    """``ds.map_batches`` over a fixed-size actor pool running ``stages`` with their resources.

    The only place that calls ``map_batches``: resources come from the steps' specs
    (``cfg.ray.stages[<stage>]``, equal for every fused stage: ``fuse_pools``), none are
    written here. Rows are never dropped (``udf_modifying_row_count=False``); each batch is
    one chunk.

    Args:
        ds: the chunk dataset.
        stages: the stage kinds this pool runs, in graph order.
        steps: ``{stage: {set key: Step}}`` of the sets this pool computes.
        max_restarts: actor restarts after a crash (``cfg.ray.max_restarts``); each chunk of a
            crashed actor is retried as often (a retried chunk rewrites the same file).
        actors: the pool's size (``pool_actors``).
        threads: torch threads per actor (``actor_threads``; None: Ray's default).
    """
    import ray.data

    res = pool_resources(steps[stages[0]])
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameter for actor restarts yet; they still go through
        # **ray_remote_args, which warns that it is deprecated.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        return ds.map_batches(
            make_chunk_actor(stages),
            fn_constructor_kwargs={"steps": steps, "threads": threads},
            compute=ray.data.ActorPoolStrategy(size=actors),
            batch_size=1,
            num_cpus=res.num_cpus,
            num_gpus=res.num_gpus,
            udf_modifying_row_count=False,
            max_restarts=max_restarts,
            max_task_retries=max_restarts,
        )


def operator_chain(ds: Any) -> str:
    """The operators an executed dataset ran, from ``ds.stats()``: ``FromItems->MapBatches(..)``."""
    names = re.findall(r"^Operator \d+ (.+?): ", ds.stats(), flags=re.MULTILINE)
    return "->".join(names)


def run_task_graph(rows: list[dict[str, Any]], specs: list[Any], task: str, fingerprint: str,
                   cache: StageCache, ray_cfg: Any, force: str | None = None,
                   before_compute: Callable[[], None] | None = None
                   ) -> tuple[str, list[StageRecord]]:
    """A chain of row stages on Ray (``fgalign.engine.runner.run_chain`` with a ``RayExecutor``)."""
    return run_chain(rows, specs, task, fingerprint, cache, RayExecutor(ray_cfg, before_compute),
                     force)


__all__ += ["written_rows"]
