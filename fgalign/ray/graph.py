"""The Ray Data executor of the stage graph (``fgalign.graph.Runner`` decides what runs).

Each stage runs as its own Ray Data execution, ``read → <Stage>Actor pool → write Parquet``,
into the directory the runner commits; the next stage reads that cache. Stages therefore never
fuse (each is its own operator: ``ds.explain()`` shows ``MapBatches(...)`` between the read and
the write) and a completed stage survives a crash of a later one. The price is no overlap
between stages; each may instead use the whole cluster (its pool size is
``cfg.ray.stages[<stage>].concurrency``).
"""
from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import Any

from fgalign.graph import StageError, StageRecord, blocks, plan_start, rows_table, run_chain
from fgalign.ray.cache import StageCache, cache_files
from fgalign.ray.stage import apply_stage

__all__ = ["RayExecutor", "StageError", "StageRecord", "operator_chain", "plan_start",
           "rows_dataset", "run_task_graph"]


def rows_dataset(rows: list[dict[str, Any]], block_rows: int, max_blocks: int) -> Any:
    """Rows as a Ray Dataset of Arrow blocks sharing one schema (inferred over all rows)."""
    import ray.data

    table = rows_table(rows)
    size = blocks(len(rows), block_rows, max_blocks)
    return ray.data.from_arrow([table.slice(i, size) for i in range(0, max(len(rows), 1), size)])


class RayExecutor:
    """Runs each stage as a Ray Data actor pool (``fgalign.ray.stage.apply_stage``).

    Args:
        ray_cfg: ``cfg.ray`` (``max_restarts``, ``max_input_blocks``, ``rows_per_file``).
        before_compute: called before the first stage that computes (the pipeline starts Ray
            there, so a fully cached run never starts it).
    """

    def __init__(self, ray_cfg: Any, before_compute: Callable[[], None] | None = None):
        self.ray_cfg, self.before_compute = ray_cfg, before_compute

    def run(self, spec: Any, source: list[dict] | str, dest: str, n_rows: int
            ) -> tuple[int, str]:
        import ray.data

        if self.before_compute is not None:
            self.before_compute()
            self.before_compute = None  # once, before the first stage that computes
        if isinstance(source, str):
            ds = ray.data.read_parquet(source)
        else:
            ds = rows_dataset(source, spec.resources.batch_size, self.ray_cfg.max_input_blocks)
        ds = apply_stage(ds, spec, self.ray_cfg.max_restarts)
        try:
            ds.write_parquet(dest, min_rows_per_file=self.ray_cfg.rows_per_file)
            return written_rows(dest), operator_chain(ds)
        finally:
            del ds
            gc.collect()


def written_rows(dest: str) -> int:
    """Rows in the Parquet files of a directory, from their footers (no Ray job)."""
    import pyarrow.parquet as pq

    fs, files = cache_files(dest)
    return sum(pq.ParquetFile(fs.open_input_file(f)).metadata.num_rows for f in files)


def operator_chain(ds: Any) -> str:
    """The operators an executed dataset ran, from ``ds.stats()``: ``ReadParquet->MapBatches(..)``."""
    names = re.findall(r"^Operator \d+ (.+?): ", ds.stats(), flags=re.MULTILINE)
    return "->".join(names)


def run_task_graph(rows: list[dict[str, Any]], specs: list[Any], task: str, fingerprint: str,
                   cache: StageCache, ray_cfg: Any, force: str | None = None,
                   before_compute: Callable[[], None] | None = None
                   ) -> tuple[str, list[StageRecord]]:
    """A chain of row stages on Ray (``fgalign.graph.run_chain`` with a ``RayExecutor``)."""
    return run_chain(rows, specs, task, fingerprint, cache, RayExecutor(ray_cfg, before_compute),
                     force)
