"""One stage graph, two executors: every run of the method goes through ``Runner``.

    runner = Runner(cfg, LocalExecutor())                 # in this process (fgalign evaluate)
    runner = Runner(cfg, RayExecutor(cfg.ray, lazy.ensure))   # Ray Data actor pools (pipeline)
    run = runner.run_split("vqa", "test", rows, ctx)      # -> SplitRun: path of the score cache
    for batch in run.iter_batches(["uid", "vscore_fusion"]): ...

For one input set (a task's rows of one split):

1. **Images, once each.** The distinct ``image_key`` s of the rows go through ``regions`` and
   ``images``. Both stores are content-addressed by image under the stage-cache root::

       <root>/images/regions-<h>/<set>/      proposals of one set of images (Parquet, _SUCCESS)
       <root>/images/images-<h'>/<set>/      their tags and errors (embeddings: tables/image-*)

   Only images no earlier shard holds are computed, so an image shared by splits, tasks,
   calibration and adaptation is proposed and encoded once per configuration.
2. **Rows.** Image errors are copied onto their rows, then ``keywords`` → ``embed`` →
   ``score`` run as a chain of Parquet caches ``<root>/<task>/<stage>-<chain hash>/`` whose
   hash chains the rows' fingerprint, the image stages' hashes and each stage's own hash (a
   re-run starts after the last complete stage; ``force`` recomputes from a stage on).

Executors implement ``run(spec, source, dest) -> (rows written, operators)``: ``source`` is a
list of row dicts or a cache path; ``dest`` a temporary directory the graph commits. Both
isolate failing rows with ``fgalign.ray.stage.run_batch`` and write Arrow tables of
``fgalign.ray.stage.to_arrow_table``, so both paths write identical caches.
"""
from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from fgalign.config import Config, config_hash
from fgalign.gather import table_dirs
from fgalign.ray.cache import (
    StageCache,
    cache_files,
    chain_hash,
    dataset_fingerprint,
    read_table,
)
from fgalign.ray.stage import run_batch, to_arrow_table
from fgalign.schema import STAGE_NAMES
from fgalign.stages import (
    StageSpec,
    build_image_specs,
    build_row_specs,
    text_embed_spec,
)
from fgalign.store import EmbeddingTable
from fgalign.tasks import get_task


class StageError(RuntimeError):
    """A stage failed as a whole (a bug, or rows lost); completed stages stay cached."""


@dataclass
class StageRecord:
    """What happened to one stage of one input set (written to stages.json, logged)."""

    task: str
    stage: str
    hash: str  # chain hash (row stages) or store hash (image stages)
    path: str  # cache directory / URI
    rows: int  # rows (images for the image stages) this stage computed or found cached
    cached: bool  # True: read from cache, not computed in this run
    seconds: float  # wall time of the computation (0 when cached)
    operators: str = ""  # the executed plan, e.g. "ReadParquet->MapBatches(EmbedActor)"
    split: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Executor(Protocol):
    """Runs one stage over a source into a directory (see the module docstring)."""

    def run(self, spec: StageSpec, source: list[dict] | str, dest: str, n_rows: int
            ) -> tuple[int, str]: ...


def rows_table(rows: list[dict[str, Any]]) -> Any:
    """Row dicts as one Arrow table (the first stage's input, in both executors)."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


class LocalExecutor:
    """Runs a stage in this process, batch by batch (``resources.batch_size`` rows)."""

    def __init__(self, progress: bool | None = None):
        self.progress = progress

    def run(self, spec: StageSpec, source: list[dict] | str, dest: str, n_rows: int
            ) -> tuple[int, str]:
        import pyarrow.parquet as pq
        from ray.data.block import BlockAccessor
        from tqdm import tqdm

        stage, guard = spec.cls(**spec.kwargs), spec.guard()
        size = max(1, spec.resources.batch_size)
        if isinstance(source, str):
            batches = read_table(source, batch_rows=size)
        else:
            table = rows_table(source)
            batches = (BlockAccessor.for_block(table.slice(i, size)).to_numpy()
                       for i in range(0, table.num_rows, size))
        written = 0
        bar = tqdm(total=n_rows, desc=spec.name, unit="row", disable=self.progress is False
                   or None)
        for i, batch in enumerate(batches):
            out = to_arrow_table(run_batch(stage, spec.name, dict(batch), guard))
            pq.write_table(out, f"{dest}/part-{i:06d}.parquet")
            written += out.num_rows
            bar.update(out.num_rows)
        bar.close()
        return written, f"Read->{spec.cls.__name__}"


@dataclass
class SplitRun:
    """The outcome of one input set: the score cache and what each stage did."""

    task: str
    split: str
    path: str  # the last stage's cache
    n: int  # rows
    uids: list[str]
    records: list[StageRecord] = field(default_factory=list)
    image_records: list[str] = field(default_factory=list)  # ``images`` stage caches
    tables: dict[str, str] = field(default_factory=dict)

    def iter_batches(self, columns: list[str] | None = None, batch_rows: int = 4096
                     ) -> Iterator[dict[str, Any]]:
        """The last stage's rows as numpy dict-batches (file order, bounded size)."""
        return read_table(self.path, columns, batch_rows)

    def iter_rows(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The last stage's rows one at a time (as dicts of the requested columns)."""
        for batch in self.iter_batches(columns):
            n = len(next(iter(batch.values())))
            for i in range(n):
                yield {k: v[i] for k, v in batch.items()}


class Runner:
    """The method's graph over any executor, writing through one ``StageCache``.

    Args:
        cfg: the experiment config.
        executor: ``LocalExecutor`` or ``fgalign.ray.graph.RayExecutor``.
        force: recompute from this stage on (``fgalign.schema.STAGE_NAMES``).
    """

    def __init__(self, cfg: Config, executor: Executor, force: str | None = None):
        if force is not None and force not in STAGE_NAMES:
            raise ValueError(f"--force {force!r}: not a stage ({', '.join(STAGE_NAMES)})")
        self.cfg, self.executor, self.force = cfg, executor, force
        self.cache = StageCache(cache_root(cfg))
        self.records: list[StageRecord] = []

    def _forced(self, stage: str) -> bool:
        return self.force is not None and STAGE_NAMES.index(stage) >= \
            STAGE_NAMES.index(self.force)

    def tables(self, task: str) -> dict[str, str]:
        """Embedding table directories of ``task`` (text: backbone; image: + region config)."""
        specs = build_image_specs(self.cfg, task, {})
        return table_dirs(self.cache.root, chain_hash(specs[0].hash, specs[1].hash),
                          text_embed_spec(self.cfg, {}).hash)

    # -- images ---------------------------------------------------------------------------
    def _run(self, spec: StageSpec, source: list[dict] | str, path: str, n: int, task: str,
             split: str, hash_: str) -> StageRecord:
        return commit_stage(self.cache, self.executor, spec, source, path, n, task, split, hash_)

    def _shards(self, store: str) -> list[str]:
        """Committed shard directories of an image store, oldest first."""
        import pyarrow.fs as pafs

        fs, where = self.cache.fs, self.cache._fs_path(store)
        infos = fs.get_file_info(pafs.FileSelector(where, allow_not_found=True))
        shards = [f"{store}/{i.base_name}" for i in infos if i.type == pafs.FileType.Directory
                  and ".tmp-" not in i.base_name]
        return sorted((s for s in shards if self.cache.rows(s) is not None),
                      key=lambda s: (self.cache.created(s), s))

    def _keys(self, shards: list[str]) -> set[str]:
        return {str(k) for s in shards for b in read_table(s, ["image_key"])
                for k in b["image_key"]}

    def region_shards(self, task: str) -> list[str]:
        """Committed shards of ``task``'s ``regions`` store (one row per image)."""
        return self._shards(f"{self.cache.root}/images/regions-"
                            f"{build_image_specs(self.cfg, task, {})[0].hash}")

    def prefetch_images(self, inputs: list[tuple[str, list[dict]]]) -> None:
        """Propose and embed the images of several input sets at once: one ``regions`` and one
        ``images`` execution per image configuration (tasks sharing a proposer share them),
        so the later ``run_split`` calls find every image in the stores.

        Args:
            inputs: (task, rows) of every input set a run will score (calibration included).
        """
        groups: dict[tuple[str, str], tuple[str, dict[str, dict]]] = {}
        for task, rows in inputs:
            regions, images = build_image_specs(self.cfg, task, {})
            _, union = groups.setdefault((regions.hash, images.hash), (task, {}))
            for r in rows:
                union.setdefault(r["image_key"], r)
        for task, union in groups.values():
            self.run_images(task, "prefetch", list(union.values()))

    def run_images(self, task: str, split: str, rows: list[dict]
                   ) -> tuple[list[str], dict[str, str]]:
        """Propose and embed the images of ``rows`` that no shard holds yet.

        Returns:
            The ``images`` shards covering every image of ``rows``, and ``{image_key: error}``
            of the images that failed.
        """
        tables = self.tables(task)
        regions, images = build_image_specs(self.cfg, task, tables)
        h_regions = regions.hash
        h_images = chain_hash(h_regions, images.hash)
        r_store = f"{self.cache.root}/images/regions-{h_regions}"
        i_store = f"{self.cache.root}/images/images-{h_images}"
        wanted: dict[str, dict] = {}
        for r in rows:
            if not r.get("error") and r["image_key"] not in wanted:
                wanted[r["image_key"]] = {
                    "image_key": r["image_key"], "image_path": r.get("image_path") or "",
                    "given_boxes": r.get("given_boxes"), "object_names": r.get("object_names"),
                    "error": ""}
        forced = self._forced("regions")
        i_shards = self._shards(i_store)
        have = set() if self._forced("images") else self._keys(i_shards)
        missing = sorted(k for k in wanted if k not in have)
        for name, store, h in (("regions", r_store, h_regions), ("images", i_store, h_images)):
            if not missing:
                self.records.append(StageRecord(task, name, h, store, len(wanted), True, 0.0,
                                                split=split))
        if missing:
            set_hash = config_hash(missing)
            r_shards = self._shards(r_store)
            r_have = set() if forced else self._keys(r_shards)
            need = [wanted[k] for k in missing if k not in r_have]
            if need:
                path = f"{r_store}/{config_hash([r['image_key'] for r in need])}"
                self.records.append(self._run(regions, need, path, len(need), task, split,
                                              h_regions))
                r_shards.append(path)
            else:
                self.records.append(StageRecord(task, "regions", h_regions, r_store,
                                                len(missing), True, 0.0, split=split))
            todo, found = set(missing), {}
            for shard in r_shards:  # later shards win (a forced re-run)
                for b in read_table(shard):
                    for i, k in enumerate(b["image_key"]):
                        if str(k) in todo:
                            found[str(k)] = {c: plain(b[c][i]) for c in b}
            source = [found[k] for k in missing]
            path = f"{i_store}/{set_hash}"
            self.records.append(self._run(images, source, path, len(source), task, split,
                                          h_images))
            i_shards = self._shards(i_store)
        errors: dict[str, str] = {}
        for shard in i_shards:
            for b in read_table(shard, ["image_key", "error"]):
                for k, e in zip(b["image_key"], b["error"]):
                    if str(k) in wanted:
                        errors[str(k)] = str(e or "")
        return i_shards, {k: e for k, e in errors.items() if e}

    # -- rows -----------------------------------------------------------------------------
    def embed_prompts(self, task: str, texts: list[str], tables: dict[str, str]) -> None:
        """Texts the task's row stages look up (``Task.prompt_texts``; VQA: the retrieval
        prompts of the answer vocabulary) into the text table, as one cached input set."""
        rows = [{"uid": f"prompt:{i}", "statements": [t], "keywords": [[]], "error": ""}
                for i, t in enumerate(texts)]
        spec = text_embed_spec(self.cfg, tables)
        fp = config_hash({"prompts": texts})
        _, records = run_chain(rows, [spec], task, fp, self.cache, self.executor,
                               "embed" if self._forced("embed") else None,
                               split="answer-prompts")
        self.records += records

    def run_split(self, task: str, split: str, rows: list[dict], ctx: dict,
                  stop_after: str = "score", text_only: bool = False) -> SplitRun:
        """Every stage of ``task`` over ``rows`` (one input set named ``split``).

        Args:
            task: task name.
            split: the input set's name (split, or split plus a calibration tag).
            rows: unified rows with statements (``fgalign.stages.load_task_rows``).
            ctx: the task context (the scorer's calibration data).
            stop_after: the last row stage to run (``embed`` for the adaptation caches).
            text_only: rows without an image (SNLI-VE's text-only training rows): no image
                stage runs.

        Returns:
            The ``SplitRun`` of the last stage run.

        Raises:
            StageError: a stage failed as a whole.
        """
        tables = self.tables(task)
        if text_only:
            shards, img_errors = [], {}
        else:
            shards, img_errors = self.run_images(task, split, rows)
        if img_errors:
            rows = [dict(r, error=img_errors[r["image_key"]])
                    if not r.get("error") and r["image_key"] in img_errors else r for r in rows]
        prompt_texts = [] if text_only else get_task(task).prompt_texts(self.cfg, ctx)
        if prompt_texts:
            self.embed_prompts(task, prompt_texts, tables)
        specs = build_row_specs(self.cfg, task, ctx, tables, shards)
        specs = specs[: [s.name for s in specs].index(stop_after) + 1]
        images = build_image_specs(self.cfg, task, tables)
        up = dataset_fingerprint(self.cfg.data.root, split, None, task, rows)
        up = chain_hash(up, "text-only" if text_only else chain_hash(images[0].hash,
                                                                     images[1].hash))
        hydration = {"tables": tables, "image_records": shards, "text_only": text_only,
                     "max_keywords": self.cfg.keywords.max_keywords}  # fgalign.gather.read_rows
        force = next((s.name for s in specs if self._forced(s.name)), None)
        path, records = run_chain(rows, specs, task, up, self.cache, self.executor, force,
                                  split=split, hydrate=hydration)
        self.records += records
        for table in tables.values():  # many small shards (one per batch) → one
            EmbeddingTable(table).compact()
        return SplitRun(task, split, path, len(rows), [str(r["uid"]) for r in rows],
                        records=[r for r in self.records if r.task == task and r.split == split],
                        image_records=shards, tables=tables)


def run_chain(rows: list[dict[str, Any]], specs: list[StageSpec], task: str, fingerprint: str,
              cache: StageCache, executor: Executor, force: str | None = None,
              split: str = "", **marker: Any) -> tuple[str, list[StageRecord]]:
    """Run (or read from cache) a chain of row stages; each stage's output is a cache.

    Args:
        rows: the input rows of the first stage.
        specs: ordered stages.
        task: task name (cache sub-folder).
        fingerprint: hash of the input rows; the root of the hash chain.
        cache: where stage outputs live.
        executor: ``LocalExecutor`` or ``RayExecutor``.
        force: recompute from this stage on, even when caches exist.
        split: the input set's name (recorded).
        **marker: extra entries of each committed cache's ``_SUCCESS`` marker.

    Returns:
        The last stage's cache path and one ``StageRecord`` per stage.

    Raises:
        ValueError: ``force`` names no stage of the chain.
        StageError: a stage failed as a whole (rows lost, a bug, a broken stage).
    """
    hashes, up = [], fingerprint
    for spec in specs:
        up = chain_hash(up, spec.hash)
        hashes.append(up)
    paths = [cache.path(task, s.name, h) for s, h in zip(specs, hashes)]
    n = len(rows)
    start = plan_start(specs, paths, n, cache, force)
    records = [StageRecord(task, s.name, h, p, n, True, 0.0, split=split)
               for s, h, p in zip(specs[:start], hashes, paths)]
    for i in range(start, len(specs)):
        source = rows if i == 0 else paths[i - 1]
        records.append(commit_stage(cache, executor, specs[i], source, paths[i], n, task, split,
                                    hashes[i], **marker))
    return paths[-1], records


def plan_start(specs: list[StageSpec], paths: list[str], n_rows: int, cache: StageCache,
               force: str | None) -> int:
    """Index of the first stage to compute (``len(specs)`` when every output is cached).

    Raises:
        ValueError: ``force`` names no stage of ``specs``.
    """
    names = [s.name for s in specs]
    if force is not None and force not in names:
        raise ValueError(f"--force {force!r}: not a stage of this pipeline ({', '.join(names)})")
    stop = names.index(force) if force is not None else len(specs)
    for i in reversed(range(stop)):
        if cache.rows(paths[i]) == n_rows:
            return i + 1
    return 0


def commit_stage(cache: StageCache, executor: Executor, spec: StageSpec,
                 source: list[dict] | str, path: str, n: int, task: str, split: str,
                 hash_: str, **marker: Any) -> StageRecord:
    """Run one stage into a temporary directory and commit it as ``path`` (rows in = out).

    Raises:
        StageError: the stage raised, or wrote another number of rows than it was given.
    """
    t0 = time.perf_counter()
    tmp, failure, written, ops = cache.begin(path), None, 0, ""
    try:
        if n:  # an empty input set is an empty, complete cache
            written, ops = executor.run(spec, source, tmp, n)
        if written != n:
            failure = f"{n} rows in, {written} out"
    except Exception as e:  # noqa: BLE001 - re-raised below as StageError
        # Keep the message only: the exception's traceback pins the stage's actor pool (and
        # its CPUs / GPUs) for as long as the exception lives. Ray Data has already printed
        # the stage's own stack trace.
        failure = f"{type(e).__name__}: {e}"
    if failure is not None:
        cache.abort(tmp)
        gc.collect()
        where = f" ({split})" if split else ""
        raise StageError(f"stage {spec.name!r} of task {task!r}{where} failed: {failure}")
    seconds = time.perf_counter() - t0
    cache.commit(tmp, path, written, task=task, stage=spec.name, split=split,
                 seconds=round(seconds, 3), **marker)
    return StageRecord(task, spec.name, hash_, path, written, False, seconds, ops, split)


def run_stages(specs: list[StageSpec], rows: list[dict]) -> list[dict]:
    """Rows through stages in this process, in memory (no cache): tests and small inputs.

    Same batching and row isolation as ``LocalExecutor``; returns new row dicts in order.
    """
    from ray.data.block import BlockAccessor

    out = list(rows)
    for spec in specs:
        stage, guard, size = spec.cls(**spec.kwargs), spec.guard(), max(1,
                                                                       spec.resources.batch_size)
        table, done = rows_table([{k: plain(v) for k, v in r.items()} for r in out]), []
        for i in range(0, table.num_rows, size):
            batch = BlockAccessor.for_block(table.slice(i, size)).to_numpy()
            result = to_arrow_table(run_batch(stage, spec.name, dict(batch), guard))
            done += batch_rows(BlockAccessor.for_block(result).to_numpy())
        out = done
    return out


def batch_rows(batch: dict[str, Any]) -> list[dict]:
    """A dict-batch → row dicts (cells as stored)."""
    n = len(next(iter(batch.values()))) if batch else 0
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


def plain(v: Any) -> Any:
    """numpy values (also inside lists) as Python lists / scalars (Arrow-convertible rows)."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def cache_root(cfg: Config) -> str:
    """``ray.cache_dir``, or ``<output_dir>/<experiment>/stages`` (shared by run folders)."""
    return cfg.ray.cache_dir or f"{cfg.experiment.output_dir}/{cfg.experiment.name}/stages"


def blocks(n: int, block_rows: int, max_blocks: int) -> int:
    """Rows per input block: at least ``block_rows``, at most ``max_blocks`` blocks."""
    return max(block_rows, math.ceil(n / max_blocks), 1)


__all__ = ["Executor", "LocalExecutor", "Runner", "SplitRun", "StageError", "StageRecord",
           "cache_files", "cache_root"]
