"""The Ray Data graph of one task: rows → regions → keywords → embed → score, cached per stage.

Each stage runs as its own Ray Data execution, ``read → <Stage>Actor pool → write Parquet``,
into its stage cache (``fgalign.ray.cache``), and the next stage reads that cache. Stages
therefore never fuse (each is its own operator: ``ds.explain()`` shows ``MapBatches(...)``
between the read and the write) and a completed stage survives a crash of a later one. The
price is no overlap between stages; each may instead use the whole cluster (its pool size is
``cfg.ray.stages[<stage>].concurrency``).

Which stages run: the chain hashes of all stages are computed first; the run starts after
the last stage whose cache is complete (``_SUCCESS`` with the right row count), or at the
``force`` stage if that comes earlier. Rows in = rows out is checked after every stage.
"""
from __future__ import annotations

import gc
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from fgalign.ray.cache import StageCache, chain_hash
from fgalign.ray.stage import apply_stage


class StageError(RuntimeError):
    """A stage failed as a whole (a bug, or rows lost); completed stages stay cached."""


@dataclass
class StageRecord:
    """What happened to one stage of one task (written to stages.json, logged)."""

    task: str
    stage: str
    hash: str  # chain hash: dataset + this and every upstream stage config
    path: str  # cache directory / URI
    rows: int
    cached: bool  # True: read from cache, not computed in this run
    seconds: float  # wall time of the computation (0 when cached)
    operators: str = ""  # the executed plan, e.g. "ReadParquet -> MapBatches(EmbedActor)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rows_dataset(rows: list[dict[str, Any]], block_rows: int, max_blocks: int) -> Any:
    """Rows as a Ray Dataset of Arrow blocks sharing one schema (inferred over all rows)."""
    import pyarrow as pa
    import ray.data

    table = pa.Table.from_pylist(rows)
    block_rows = max(block_rows, math.ceil(len(rows) / max_blocks), 1)
    return ray.data.from_arrow([table.slice(i, block_rows)
                                for i in range(0, max(len(rows), 1), block_rows)])


def plan_start(specs: list[Any], paths: list[str], n_rows: int, cache: StageCache,
               force: str | None) -> int:
    """Index of the first stage to compute (``len(specs)`` when every output is cached)."""
    names = [s.name for s in specs]
    if force is not None and force not in names:
        raise ValueError(f"--force {force!r}: not a stage of this pipeline ({', '.join(names)})")
    stop = names.index(force) if force is not None else len(specs)
    for i in reversed(range(stop)):
        if cache.rows(paths[i]) == n_rows:
            return i + 1
    return 0


def run_task_graph(rows: list[dict[str, Any]], specs: list[Any], task: str, fingerprint: str,
                   cache: StageCache, ray_cfg: Any, force: str | None = None,
                   before_compute: Callable[[], None] | None = None
                   ) -> tuple[str, list[StageRecord]]:
    """Run (or read from cache) every stage of one task.

    Args:
        rows: the task's unified rows (with statements), as ``load_task_rows`` returns them.
        specs: ordered ``StageSpec``s (regions, keywords, embed, score).
        task: task name (cache sub-folder).
        fingerprint: ``dataset_fingerprint`` of the rows; the root of the hash chain.
        cache: where stage outputs live.
        ray_cfg: ``cfg.ray`` (``max_restarts``, ``max_input_blocks``, ``rows_per_file``).
        force: recompute from this stage on, even when caches exist.
        before_compute: called once before the first stage that is not read from cache (the
            pipeline starts Ray there, so a fully cached run never starts it).

    Returns:
        The cache path of the last stage's output and one ``StageRecord`` per stage.
    """
    import ray.data

    n = len(rows)
    hashes, up = [], fingerprint
    for spec in specs:
        up = chain_hash(up, spec.hash)
        hashes.append(up)
    paths = [cache.path(task, s.name, h) for s, h in zip(specs, hashes)]
    start = plan_start(specs, paths, n, cache, force)
    records = [StageRecord(task, s.name, h, p, n, True, 0.0)
               for s, h, p in zip(specs[:start], hashes, paths)]
    if start < len(specs) and before_compute is not None:
        before_compute()
    for i in range(start, len(specs)):
        spec, t0 = specs[i], time.perf_counter()
        if i == 0:
            ds = rows_dataset(rows, spec.resources.batch_size, ray_cfg.max_input_blocks)
        else:
            ds = ray.data.read_parquet(paths[i - 1])
        ds = apply_stage(ds, spec, ray_cfg.max_restarts)
        tmp, failure = cache.begin(paths[i]), None
        try:
            ds.write_parquet(tmp, min_rows_per_file=ray_cfg.rows_per_file)
            written = ray.data.read_parquet(tmp).count()
            if written != n:
                failure = f"{n} rows in, {written} out"
        except Exception as e:  # noqa: BLE001 - re-raised below as StageError
            # Keep the message only: the exception's traceback pins the stage's actor pool
            # (and its CPUs / GPUs) for as long as the exception lives. Ray Data has already
            # printed the stage's own stack trace.
            failure = f"{type(e).__name__}: {e}"
        if failure is not None:
            cache.abort(tmp)
            del ds
            gc.collect()
            raise StageError(f"stage {spec.name!r} of task {task!r} failed: {failure}")
        seconds = time.perf_counter() - t0
        cache.commit(tmp, paths[i], written, task=task, stage=spec.name,
                     seconds=round(seconds, 3))
        records.append(StageRecord(task, spec.name, hashes[i], paths[i], written, False,
                                   seconds, operators=operator_chain(ds)))
    return paths[-1], records


def operator_chain(ds: Any) -> str:
    """The operators an executed dataset ran, from ``ds.stats()``: ``ReadParquet->MapBatches(..)``."""
    names = re.findall(r"^Operator \d+ (.+?): ", ds.stats(), flags=re.MULTILINE)
    return "->".join(names)
