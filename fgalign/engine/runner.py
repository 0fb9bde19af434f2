"""One stage graph, two executors: every run of the method goes through ``Runner``.

    runner = Runner(cache_root, LocalExecutor())          # in this process (evaluate)
    runner = Runner(cache_root, RayExecutor(cfg.ray, lazy.ensure))   # Ray Data pools
    runs = runner.run([StageSet("vqa", "val", rows, data_root, specs, images, ...), ...])
    for batch in runs[0].iter_batches(["uid", "vscore_fusion"]): ...

The runner is handed finished ``StageSet`` s (rows plus their stage specs, built above the
engine by ``fgalign.experiment.plan``) and asks nothing back: it knows stages, caches and
executors, not tasks or configs. The one input it fills in itself is the ``image_records``
keyword of a row stage (the ``images`` shards it resolves; unhashed, ``fgalign.engine.spec``).
``run`` computes every set of a call together, in two **executions** (one pass of
``executor.execute`` over many input sets, ``fgalign.engine.chunks``):

1. **Images, once each.** The distinct ``image_key`` s of every request go through
   ``regions`` → ``images``, grouped by image configuration, together with the texts the row
   stages look up (``Task.prompt_texts``; VQA: the answer prompts) through ``embed``. Both
   image stores are content-addressed by image under the stage-cache root::

       <root>/images/regions-<h>/<set>/      proposals of one set of images (Parquet, _SUCCESS)
       <root>/images/images-<h'>/<set>/      their tags and errors (embeddings: tables/image-*)

   Only images no earlier shard holds are computed.
2. **Rows.** Each request's row stages (the task's own, e.g. VQA ``candidates``;
   ``keywords`` → ``embed`` → ``score``) run from the first stage whose cache is missing, as a
   chain of caches ``<root>/<task>/<stage>-<chain hash>/``; the hash chains the rows'
   fingerprint, the image stages' hashes and each stage's own hash (``force`` recomputes from
   a stage on). The first stage copies each failed image's error onto its rows (``Gate``).

Both are planned before either runs: the row stages read the ``images`` shards that exist
plus those the images execution will commit (their paths are content-addressed), and every
row set waits at a ``fgalign.engine.chunks.Gate`` until the image and prompt caches it reads
are committed. So the two executions may run **at the same time** when the executor says so
(``executor.schedule(images, rows)``: ``RayExecutor`` when both sets of pools fit the
cluster): the row pools start, import and load their models while the images are computed;
a failed images execution writes the gate's abort file, so the rows stop instead of waiting.
Otherwise (``LocalExecutor``) they run one after the other. Inside each execution every
stage kind is one operator over the chunks of all input sets, and the executor may run them
at the same time (Ray). A set whose chunks are all through is committed at once: its
stages' temporary directories become caches (``StageCache.commit``, row counts checked,
rows in = rows out), and the caller hears of it (``run(on_ready=...)``: the Ray driver
fits a task's calibration while the pools score the next task; ``row_order`` says which sets
the rows execution takes first). A failed execution still commits every stage output that is
complete, so a re-run resumes after it.

One execution for both (image chunks first, row chunks gated, one pool start-up when every
stage fuses into one pool) was tried twice and is not used. First it hung on the demo: Ray
Data's iterator looks one block ahead, so the last image chunk stayed with Ray Data while the
next chunk, a gated row chunk, waited for its commit (``prefetch_batches=0`` fixes that, and
a pool then takes chunks in input order in a small test). It still hung once in the test
suite, an actor waiting at a gate before any image chunk had run: nothing in Ray Data
promises that a pool takes chunks in input order, and a gate inside one execution needs it.

Two runs that share a stage-cache root take turns per ``run`` call
(``fgalign.engine.locks.folder_lock``): the second finds what the first computed.
"""
from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from fgalign.config import Config, config_hash
from fgalign.engine.arrow import run_batch, to_arrow_table
from fgalign.engine.cache import (
    StageCache,
    cache_files,
    chain_hash,
    dataset_fingerprint,
    read_table,
    resolve_uri,
    stage_cache_root,
)
from fgalign.engine.chunks import (
    ChunkStage,
    Gate,
    SetPlan,
    Step,
    failed_at,
    image_errors,
    operator_stages,
    plain,
    rows_table,
    set_chunks,
    stage_steps,
)
from fgalign.engine.locks import folder_lock
from fgalign.engine.spec import StageSpec
from fgalign.engine.store import EmbeddingTable
from fgalign.errors import error_text
from fgalign.progress import Progress
from fgalign.schema import STAGE_NAMES


class StageError(RuntimeError):
    """A stage failed as a whole (a bug, or rows lost); completed stages stay cached."""


class Cancelled(Exception):
    """Raised by a pass's ``check`` (``Runner.run``) to end it early, because work of the
    caller's beside it failed (``fgalign.experiment.steps.TaskSteps.check``). Every complete
    step is committed, the rest dropped (a re-run resumes from there), and it propagates as
    it is, not as a ``StageError``."""


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
    """Runs input sets through their steps (``fgalign.engine.chunks``).

    ``execute(plans, done, check)`` writes each step's chunks into ``step.tmp`` and calls
    ``done(set key, {stage: busy seconds})`` as soon as every chunk of a set is through all of
    its steps, and ``check()`` (when given) after every chunk that comes back, whose
    ``Cancelled`` it lets through; it raises when a stage fails as a whole. ``operators``: the
    executed plan of the last execution, e.g.
    ``"Chunks->MapBatches(KeywordsChunks)->MapBatches(EmbedChunks)"``.
    """

    operators: str

    def execute(self, plans: list[SetPlan], done: Callable[[int, dict[str, float]], None],
                check: Callable[[], None] | None = None) -> None: ...


class LocalExecutor:
    """Runs every chunk through every stage in this process, set by set (the reference)."""

    def __init__(self, progress: bool | None = None):
        self.progress, self.operators = progress, ""

    def execute(self, plans: list[SetPlan], done: Callable[[int, dict[str, float]], None],
                check: Callable[[], None] | None = None) -> None:
        ops = operator_stages(plans)
        stages = [ChunkStage(op, stage_steps(plans, op)) for op in ops]
        self.operators = "->".join(["Chunks"] + [f"{op}" for op in ops])
        total = sum(p.n for p in plans)
        with Progress(total, "->".join(ops), enabled=self.progress is not False) as bar:
            for plan in plans:
                times = dict.fromkeys(plan.stages, 0.0)
                for chunk in set_chunks(plan, ops):
                    rows = chunk_rows(chunk)
                    for stage in stages:
                        chunk = stage(chunk)
                    for s in times:
                        times[s] += float(chunk[f"t_{s}"])
                    bar.update(rows)
                    if check is not None:
                        check()
                done(plan.key, times)


def chunk_rows(chunk: dict[str, Any]) -> int:
    """Rows in a chunk (from the IPC stream or the Parquet footer)."""
    import pyarrow as pa
    import pyarrow.parquet as pq


    if chunk["path"]:
        fs, where = resolve_uri(str(chunk["path"]))
        return pq.ParquetFile(fs.open_input_file(where)).metadata.num_rows
    return pa.ipc.open_stream(pa.py_buffer(bytes(chunk["data"]))).read_all().num_rows


@dataclass
class StageSet:
    """One input set with its finished stage specs (built by ``fgalign.experiment.plan``).

    ``specs``: the row stages in order, ending with the last one to run (``score``, or
    ``embed`` for calibration / adaptation caches); a spec with an ``image_records`` keyword
    gets the ``images`` shards this runner resolves. ``images``: the per-image stages
    (``regions``, ``images``), ``[]`` for rows without an image (text-only). ``prompts``:
    texts the row stages look up, embedded by ``prompt_spec`` in the images execution.
    ``hydrate``: what ``fgalign.engine.gather.read_rows`` needs besides the image shards
    (``tables``, ``max_keywords``), kept in each committed cache's ``_SUCCESS``.
    """

    task: str
    split: str  # the input set's name (split, or split plus a calibration tag)
    rows: list[dict]  # unified rows with statements
    source: str | None  # the data root the rows come from (in their fingerprint)
    specs: list[StageSpec]
    images: list[StageSpec] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)
    prompt_spec: StageSpec | None = None
    hydrate: dict[str, Any] = field(default_factory=dict)

    @property
    def text_only(self) -> bool:
        return not self.images


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
        """The last stage's rows as numpy dict-batches (input order, bounded size)."""
        return read_table(self.path, columns, batch_rows)

    def iter_rows(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The last stage's rows one at a time (as dicts of the requested columns)."""
        for batch in self.iter_batches(columns):
            n = len(next(iter(batch.values())))
            for i in range(n):
                yield {k: v[i] for k, v in batch.items()}


@dataclass
class _RowSet:
    """What ``run`` knows of one set once its images are done."""

    req: StageSet
    rows: list[dict]
    tables: dict[str, str]
    shards: list[str]
    specs: list[StageSpec]
    paths: list[str]
    hashes: list[str]
    marker: dict[str, Any]


def _first_then(hook: Callable[[], None], check: Callable[[], None] | None
                ) -> Callable[[], None]:
    """A ``check`` for ``execute_plans`` that calls ``hook`` once, at its first call (the
    first chunk back), then ``check`` (when given) every time."""
    fired = False

    def wrapped() -> None:
        nonlocal fired
        if not fired:
            fired = True
            hook()
        if check is not None:
            check()

    return wrapped


class Runner:
    """Stage sets over any executor, writing through one ``StageCache``.

    Args:
        root: the stage-cache root (``cache_root``).
        executor: ``LocalExecutor`` or ``fgalign.ray.executor.RayExecutor``.
        force: recompute from this stage on (``fgalign.schema.STAGE_NAMES``).
    """

    def __init__(self, root: str, executor: Executor, force: str | None = None):
        if force is not None and force not in STAGE_NAMES:
            raise ValueError(f"--force {force!r}: not a stage ({', '.join(STAGE_NAMES)})")
        self.executor, self.force = executor, force
        self.cache = StageCache(root)
        self.records: list[StageRecord] = []  # one per (task, input set, stage)
        self._recorded: set[tuple[str, str, str]] = set()
        self.executions = 0  # executions this runner started (computed something)
        self.timeline: list[dict[str, Any]] = []  # one entry per execution (``_execute``)
        self._forced_done: set[str] = set()  # force applies once per path, not per call
        self._t0: float | None = None  # when this runner's first execution began
        self._watch: Callable[[StageRecord], None] | None = None  # ``run``'s ``on_ready``
        self._check: Callable[[], None] | None = None  # ``run``'s ``check``
        self.after_images: Callable[[], None] | None = None  # called once a ``run``'s images
        # are committed (when none is computed: once the rows' first chunk is back), if rows
        # are still to compute: the caller's own work that may then use the CPU the images
        # pool leaves (the Ray driver's warm-up), not the CPU the row pools start with;
        # never in a ``run`` that finds every cache

    def _record(self, record: StageRecord) -> None:
        """Keep ``record`` unless this runner already recorded that stage of that input set
        (a later call that finds a cache this run computed does not report it again); a
        set's last cache makes it ready for ``run``'s ``on_ready``."""
        key = (record.task, record.split, record.stage)
        if key not in self._recorded:
            self._recorded.add(key)
            self.records.append(record)
        if self._watch is not None:
            self._watch(record)

    def _forced(self, stage: str) -> bool:
        return self.force is not None and STAGE_NAMES.index(stage) >= \
            STAGE_NAMES.index(self.force)

    # -- stores ---------------------------------------------------------------------------
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

    def _stores(self, specs: list[StageSpec]) -> tuple[list[StageSpec], str, str, str]:
        regions, images = specs
        h_images = chain_hash(regions.hash, images.hash)
        return ([regions, images], h_images, f"{self.cache.root}/images/regions-{regions.hash}",
                f"{self.cache.root}/images/images-{h_images}")

    def regions_of(self, images: list[StageSpec]) -> list[str]:
        """Committed shards of the ``regions`` store of ``images`` (regions, images specs)."""
        return self._shards(self._stores(images)[2])

    # -- the two executions -----------------------------------------------------------------
    def run(self, requests: list[StageSet],
            on_ready: Callable[[int, SplitRun], None] | None = None,
            compact: bool = True, row_order: list[int] | None = None,
            check: Callable[[], None] | None = None) -> list[SplitRun]:
        """Every stage of every set, in at most two executions (module docstring).

        Args:
            requests: the input sets.
            on_ready: called as ``on_ready(i, SplitRun)`` as soon as set ``i``'s last cache is
                committed (or found), while other sets may still compute, from the thread
                that committed it: the caller's own steps on that set may begin (the Ray
                driver's fits and metrics, ``fgalign.experiment.steps.TaskSteps``). It must
                return at once and must not call this runner.
            compact: merge the text tables' small shards at the end (``compact_tables``);
                False leaves that to the caller, for when nothing reads those tables any more.
            row_order: the order in which the rows execution takes the sets (indices into
                ``requests``; default: theirs). Batches never mix sets, so the order changes
                no value, only which set is ready first.
            check: called in the driver after every chunk an execution hands back; raising
                ``Cancelled`` ends the pass at once (the Ray driver's steps beside it failed:
                their error need not wait for the rest of the pass).

        Returns:
            One ``SplitRun`` per set, in order.

        Raises:
            StageError: a stage failed as a whole (completed stage outputs stay committed).
            Cancelled: ``check`` raised it (completed stage outputs stay committed).
        """
        with folder_lock(self.cache.root, "stage cache"):
            images = self._image_plans(requests)
            row_sets = [self._row_set(r, self._planned_shards(r, images)) for r in requests]
            if on_ready is not None:
                self._watch = self._ready_watch(row_sets, on_ready)
            self._check = check
            try:
                order = row_order if row_order is not None else range(len(row_sets))
                if sorted(order) != list(range(len(row_sets))):
                    raise ValueError(f"row_order {list(order)} is not an order of "
                                     f"{len(row_sets)} sets")
                plans, pending = self._row_plans([row_sets[i] for i in order])
                schedule = getattr(self.executor, "schedule", None)  # (LocalExecutor: none)
                how = schedule(images, plans) if images and plans and schedule else "sequential"
                if how == "overlap":
                    self._overlap(images, plans)
                else:
                    self._execute(images)
                    if plans and any(p.n for p in images):
                        self._images_committed()
                    elif plans:  # no image computed: after the rows' first chunk, not while
                        self._check = _first_then(self._images_committed, check)  # pools start
                    self._execute(plans)
                while pending:  # more only when two sets share a stage cache
                    plans, pending = self._row_plans(pending)
                    self._execute(plans)
            finally:
                self._watch = self._check = None
            out = [self._split_run(rs) for rs in row_sets]
            if compact:
                self.compact_tables(out)
        return out

    @staticmethod
    def compact_tables(runs: list[SplitRun]) -> None:
        """Merge the small shards (one per batch) of the text tables ``runs`` wrote into one
        (``EmbeddingTable.compact``): only while nothing else reads or writes them."""
        for table in sorted({t for r in runs for t in r.tables.values()}):
            EmbeddingTable(table).compact()

    def _split_run(self, rs: _RowSet) -> SplitRun:
        r = rs.req
        return SplitRun(r.task, r.split, rs.paths[-1], len(rs.rows),
                        [str(x["uid"]) for x in rs.rows],
                        records=[x for x in list(self.records)
                                 if x.task == r.task and x.split == r.split],
                        image_records=rs.shards, tables=rs.tables)

    def _ready_watch(self, row_sets: list[_RowSet], on_ready: Callable[[int, SplitRun], None]
                     ) -> Callable[[StageRecord], None]:
        """``_record``'s hook for ``run``'s ``on_ready``: a record of a set's last cache
        (committed, or found while planning) makes that set ready, once."""
        waiting: dict[str, list[int]] = {}
        for i, rs in enumerate(row_sets):
            waiting.setdefault(rs.paths[-1], []).append(i)
        lock = threading.Lock()  # the images thread records too

        def watch(record: StageRecord) -> None:
            with lock:
                ready = waiting.pop(record.path, [])
            for i in ready:
                on_ready(i, self._split_run(row_sets[i]))

        return watch

    def _images_committed(self) -> None:
        if self.after_images is not None:
            self.after_images()

    def run_image_set(self, req: StageSet) -> tuple[list[str], dict[str, str]]:
        """Propose and embed the images of ``req`` that no shard holds yet (no prompts).

        Returns:
            The ``images`` shards covering every image of ``req``, and ``{image_key: error}``
            of the images that failed.
        """
        with folder_lock(self.cache.root, "stage cache"):
            self._execute(self._image_plans([req], prompts=False))
            return self._image_state(req)

    def _image_plans(self, requests: list[StageSet], prompts: bool = True
                     ) -> list[SetPlan]:
        """The image sets of ``requests`` (distinct images no shard holds, per image store)
        and, with ``prompts``, their prompt sets. A computed image set is recorded under the
        first request that needs it; the others record their images as cached."""
        plans: list[SetPlan] = []
        groups: dict[str, list] = {}  # images store -> [(task, split), wanted]
        for r in requests:
            if r.text_only:
                continue
            _, wanted = groups.setdefault(self._stores(r.images)[3], [(r.images, r.task, r.split),
                                                                      {}])
            for row in r.rows:
                if not row.get("error") and row["image_key"] not in wanted:
                    wanted[row["image_key"]] = {
                        "image_key": row["image_key"], "image_path": row.get("image_path") or "",
                        "given_boxes": row.get("given_boxes"),
                        "object_names": row.get("object_names"), "error": ""}
        for (images, task, split), wanted in groups.values():
            plans += self._image_set_plans(images, task, split, wanted, len(plans))
        owners = {(p.task, p.split) for p in plans}
        for r in requests:
            if not r.text_only and (r.task, r.split) not in owners:
                (regions, _), h_images, r_store, i_store = self._stores(r.images)
                n = len({row["image_key"] for row in r.rows if not row.get("error")})
                for name, store, h in (("regions", r_store, regions.hash),
                                       ("images", i_store, h_images)):
                    self._record(StageRecord(r.task, name, h, store, n, True, 0.0, split=r.split))
        if prompts:
            plans += self._prompt_plans(requests, len(plans))
        return plans

    def _image_state(self, req: StageSet) -> tuple[list[str], dict[str, str]]:
        if req.text_only:
            return [], {}
        shards = self._shards(self._stores(req.images)[3])
        keys = {row["image_key"] for row in req.rows if not row.get("error")}
        return shards, {k: e for k, e in image_errors(shards).items() if k in keys}

    def _planned_shards(self, req: StageSet, images: list[SetPlan]) -> list[str]:
        """The ``images`` shards of ``req``'s store once ``images`` is committed: those
        committed now, then those ``images`` writes (later shards win)."""
        if req.text_only:
            return []
        i_store = self._stores(req.images)[3]
        new = [s.path for p in images for s in p.steps
               if s.spec.name == "images" and s.path.startswith(i_store + "/")]
        return list(dict.fromkeys(self._shards(i_store) + new))

    def _overlap(self, images: list[SetPlan], rows: list[SetPlan]) -> None:
        """The images execution and the rows execution at the same time (module docstring):
        the images in a thread, the rows here; every row set waits at a ``Gate`` for the
        image and prompt caches before its first chunk, while its pools start and load their
        models. A failed images execution writes the gate's abort file, so no row set waits
        for caches that will not come; its error is the one raised."""
        import copy
        import uuid

        abort = f"{self.cache.root}/.abort-{uuid.uuid4().hex[:12]}"
        wait = [s.path for p in images for s in p.steps]
        for p in rows:
            for step in p.steps:
                step.gate = replace(step.gate or Gate(), paths=wait, abort=abort)
        failure: list[BaseException] = []

        def run_images() -> None:
            try:
                self._execute(images, copy.copy(self.executor))
                self._images_committed()
            except BaseException as e:  # noqa: BLE001 - re-raised below, after the rows
                failure.append(e)
                fs, where = resolve_uri(abort)
                with fs.open_output_stream(where) as f:
                    f.write(b"images execution failed")

        thread = threading.Thread(target=run_images, name="fgalign-images", daemon=True)
        thread.start()
        rows_error: StageError | Cancelled | None = None
        try:
            self._execute(rows)
        except (StageError, Cancelled) as e:  # (an interrupt does not wait for the images;
            rows_error = e                     # a cancelled pass stops them at their next chunk)
        thread.join()
        if failure:
            fs, where = resolve_uri(abort)
            fs.delete_file(where)
            raise failure[0]
        if rows_error is not None:
            raise rows_error

    def _image_set_plans(self, specs: list[StageSpec], task: str, label: str,
                         wanted: dict[str, dict], first: int) -> list[SetPlan]:
        """Sets for the images of ``wanted`` no ``images`` shard holds: those without
        proposals go through ``regions`` → ``images``, those with through ``images``."""
        (regions, images), h_images, r_store, i_store = self._stores(specs)
        forced_regions = self._forced("regions") and r_store not in self._forced_done
        forced_images = self._forced("images") and i_store not in self._forced_done
        self._forced_done |= {r_store, i_store}
        have = set() if forced_images else self._keys(self._shards(i_store))
        missing = sorted(k for k in wanted if k not in have)
        if not missing:
            return []
        r_shards = self._shards(r_store)
        r_have = set() if forced_regions else self._keys(r_shards)
        need = [wanted[k] for k in missing if k not in r_have]
        plans = []
        if need:
            keys = [r["image_key"] for r in need]
            plans.append(SetPlan(first, task, label, len(need), [
                Step(regions, f"{r_store}/{config_hash(keys)}", regions.hash),
                Step(images, f"{i_store}/{config_hash(keys)}", h_images)], need,
                chunk_rows=max(regions.resources.batch_size, images.resources.batch_size)))
        found_keys = [k for k in missing if k in r_have]
        if found_keys:
            todo, found = set(found_keys), {}
            for shard in r_shards:  # later shards win (a forced re-run)
                for b in read_table(shard):
                    for i, k in enumerate(b["image_key"]):
                        if str(k) in todo:
                            found[str(k)] = {c: plain(b[c][i]) for c in b}
            self._record(StageRecord(task, "regions", regions.hash, r_store,
                                            len(found_keys), True, 0.0, split=label))
            plans.append(SetPlan(first + len(plans), task, label, len(found_keys), [
                Step(images, f"{i_store}/{config_hash(found_keys)}", h_images)],
                [found[k] for k in found_keys], chunk_rows=images.resources.batch_size))
        return plans

    def _prompt_plans(self, requests: list[StageSet], first: int) -> list[SetPlan]:
        """Texts the row stages look up (``StageSet.prompts``; VQA: the retrieval prompts of
        the answer vocabulary) into the text table, one cached input set per distinct list."""
        plans: dict[str, SetPlan] = {}
        for r in requests:
            texts, spec = ([], None) if r.text_only else (r.prompts, r.prompt_spec)
            if not texts or spec is None:
                continue
            h = chain_hash(config_hash({"prompts": texts}), spec.hash)
            path = self.cache.path(r.task, spec.name, h)
            if path in plans or self._reuse(path, len(texts), "embed"):
                if path not in plans:
                    self._record(StageRecord(r.task, "embed", h, path, len(texts), True, 0.0,
                                             split="answer-prompts"))
                continue
            rows = [{"uid": f"prompt:{i}", "statements": [t], "keywords": [[]], "error": ""}
                    for i, t in enumerate(texts)]
            # run by the images pool: its actors hold the same CLIP (text tower included), so
            # the first execution starts no text-embedding pool of its own
            plans[path] = SetPlan(first + len(plans), r.task, "answer-prompts", len(rows),
                                  [Step(spec, path, h, operator="images")], rows,
                                  chunk_rows=spec.resources.batch_size)
        return list(plans.values())

    def _reuse(self, path: str, n: int, stage: str) -> bool:
        """Whether the cache at ``path`` is complete and not forced."""
        if self._forced(stage) and path not in self._forced_done:
            self._forced_done.add(path)
            return False
        return self.cache.rows(path) == n

    def _row_set(self, req: StageSet, shards: list[str]) -> _RowSet:
        rows = req.rows  # image errors are copied on in the first stage (``Gate``)
        specs = [replace(s, kwargs={**s.kwargs, "image_records": list(shards)})
                 if "image_records" in s.kwargs else s for s in req.specs]
        up = dataset_fingerprint(req.source, req.split, None, req.task, rows)
        up = chain_hash(up, "text-only" if req.text_only else chain_hash(req.images[0].hash,
                                                                         req.images[1].hash))
        hashes = []
        for spec in specs:
            up = chain_hash(up, spec.hash)
            hashes.append(up)
        marker = {"hydrate": {**req.hydrate, "tables": req.tables,  # gather.read_rows
                              "image_records": shards, "text_only": req.text_only}}
        return _RowSet(req, rows, req.tables, shards, specs,
                       [self.cache.path(req.task, s.name, h) for s, h in zip(specs, hashes)],
                       hashes, marker)

    def _row_plans(self, row_sets: list[_RowSet]) -> tuple[list[SetPlan], list[_RowSet]]:
        """(plans of one execution, sets deferred to the next).

        A set whose remaining steps write a cache another planned set writes too (the same rows
        through the same stages, e.g. ``data.split`` = ``data.val_split``: the evaluated split
        and the calibration set) waits for the next execution, where it finds that cache
        committed; two sets never write one cache folder at once.
        """
        plans: dict[str, SetPlan] = {}
        writing: set[str] = set()
        deferred: list[_RowSet] = []
        for rs in row_sets:
            r, n = rs.req, len(rs.rows)
            if rs.paths[-1] in plans:  # the same input set twice in one call
                continue
            force = self._force_for(rs)
            start = plan_start(rs.specs, rs.paths, n, self.cache, force)
            if writing & set(rs.paths[start:]):
                deferred.append(rs)
                continue
            for s, h, p in zip(rs.specs[:start], rs.hashes, rs.paths):
                self._record(StageRecord(r.task, s.name, h, p, n, True, 0.0, split=r.split))
            if start == len(rs.specs):
                continue
            gate = Gate(errors_from=rs.shards) if start == 0 and rs.shards else None
            steps = [Step(s, p, h, gate=gate) for s, p, h in zip(rs.specs[start:],
                                                                  rs.paths[start:],
                                                                  rs.hashes[start:])]
            writing.update(rs.paths[start:])
            plans[rs.paths[-1]] = SetPlan(
                len(plans), r.task, r.split, n, steps,
                rs.rows if start == 0 else rs.paths[start - 1], dict(rs.marker),
                chunk_rows=max(s.resources.batch_size for s in rs.specs))
        return list(plans.values()), deferred

    def _force_for(self, rs: _RowSet) -> str | None:
        """The stage to recompute ``rs`` from (``--force``), once per cache path per runner."""
        for spec, path in zip(rs.specs, rs.paths):
            if self._forced(spec.name) and path not in self._forced_done:
                self._forced_done.update(rs.paths[rs.specs.index(spec):])
                return spec.name
        return None

    def _execute(self, plans: list[SetPlan], executor: Executor | None = None) -> None:
        """Run ``plans`` through the executor and commit each set as it completes; an
        execution that ran adds ``{operators, start_s, wall_s, busy_s, startup_s}`` to
        ``timeline`` (``start_s``: seconds after this runner's first execution began;
        ``busy_s``: seconds inside its stages; ``startup_s``: the executor's, 0 in process;
        ``actors``: actors per pool, ``{}`` in process; ``threads``: torch threads per actor,
        None in process)."""
        executor = executor or self.executor
        start = getattr(executor, "start", None)  # (Ray's start is not the execution's time)
        if start is not None and any(p.n for p in plans):
            start()
        t0, mine = time.perf_counter(), []
        self._t0 = self._t0 if self._t0 is not None else t0

        def record(r: StageRecord) -> None:
            mine.append(r)
            self._record(r)

        if execute_plans(self.cache, executor, plans, record, self._check):
            self.executions += 1
            self.timeline.append({
                "operators": executor.operators,
                "start_s": round(t0 - self._t0, 2),
                "wall_s": round(time.perf_counter() - t0, 2),
                "busy_s": round(sum(r.seconds for r in mine), 2),
                "startup_s": round(float(getattr(executor, "startup_s", 0.0)), 2),
                "actors": dict(getattr(executor, "actors", {})),
                "threads": getattr(executor, "threads", None)})


def execute_plans(cache: StageCache, executor: Executor, plans: list[SetPlan],
                  record: Callable[[StageRecord], None],
                  check: Callable[[], None] | None = None) -> bool:
    """Run ``plans`` in one execution, committing each set's steps as soon as it is through.

    Empty sets are committed as empty caches without an execution. ``record`` receives the
    ``StageRecord`` of every committed step; ``check`` goes to the executor (``Executor``).
    Returns whether an execution ran.

    Raises:
        StageError: a stage failed as a whole; every complete step is committed first.
        Cancelled: ``check`` raised it; every complete step is committed first.
    """
    todo = []
    for p in plans:
        if p.n == 0:  # an empty input set is an empty, complete cache
            for step in p.steps:
                record(commit_step(cache, p, step, cache.begin(step.path), 0.0, ""))
        else:
            todo.append(p)
    if not todo:
        return False
    for p in todo:
        for step in p.steps:
            step.tmp = cache.begin(step.path)
    by_key = {p.key: p for p in todo}
    committed: set[int] = set()

    def done(key: int, times: dict[str, float]) -> None:
        plan = by_key[key]
        for step in plan.steps:
            record(commit_step(cache, plan, step, step.tmp, times.get(step.op, 0.0),
                               executor.operators))
        committed.add(key)

    try:
        executor.execute(todo, done, check)
    except Exception as e:  # re-raised as StageError (Cancelled: as it is)
        failed = salvage(cache, [p for p in todo if p.key not in committed], record,
                         executor.operators)
        gc.collect()
        if isinstance(e, Cancelled):  # the caller stopped the pass: no stage failed
            raise
        # Keep the message only: the exception's traceback pins the stage's actor pool (and
        # its CPUs / GPUs) for as long as it lives. Ray Data printed the stack.
        failure = error_text(e)
        where = failed_at(failure)
        if where is not None:
            stage, key, failure = where
            failed = f"{stage!r} of {where_of(by_key[key])}"
        raise StageError(f"stage {failed} failed: {failure}") from None
    missing = [p for p in todo if p.key not in committed]
    if missing:
        salvage(cache, missing, record, executor.operators)
        raise StageError(f"stage {missing[0].stages[-1]!r} of {where_of(missing[0])} failed: "
                         f"the executor returned without finishing {len(missing)} set(s)")
    return True


def salvage(cache: StageCache, plans: list[SetPlan], record: Callable[[StageRecord], None],
            operators: str) -> str:
    """Commit each complete step of ``plans``, drop the rest; name the first lost step."""
    first = ""
    for p in plans:
        complete = True  # a step after an incomplete one cannot be complete
        for step in p.steps:
            complete = complete and written_rows(step.tmp) == p.n
            if complete:
                record(commit_step(cache, p, step, step.tmp, 0.0, operators))
                continue
            first = first or f"{step.spec.name!r} of {where_of(p)}"
            cache.abort(step.tmp)
    return first or "(unknown)"


def where_of(plan: SetPlan) -> str:
    """``task 'vqa' (test)`` (no parentheses for an unnamed set)."""
    return f"task {plan.task!r}" + (f" ({plan.split})" if plan.split else "")


def commit_step(cache: StageCache, plan: SetPlan, step: Step, tmp: str, seconds: float,
                operators: str) -> StageRecord:
    """Commit one step's temporary directory as its cache (rows in = rows out).

    Raises:
        StageError: the directory holds another number of rows than the set has.
    """
    written = written_rows(tmp) if plan.n else 0
    if written != plan.n:
        cache.abort(tmp)
        raise StageError(f"stage {step.spec.name!r} of {where_of(plan)} failed: {plan.n} rows "
                         f"in, {written} out")
    cache.commit(tmp, step.path, written, task=plan.task, stage=step.spec.name,
                 split=plan.split, seconds=round(seconds, 3), **plan.marker)
    return StageRecord(plan.task, step.spec.name, step.hash, step.path, written, False,
                       seconds, operators, plan.split)


def written_rows(dest: str) -> int:
    """Rows in the Parquet files of a directory, from their footers."""
    import pyarrow.parquet as pq

    fs, files = cache_files(dest)
    return sum(pq.ParquetFile(fs.open_input_file(f)).metadata.num_rows for f in files)


def run_chain(rows: list[dict[str, Any]], specs: list[StageSpec], task: str, fingerprint: str,
              cache: StageCache, executor: Executor, force: str | None = None,
              split: str = "", **marker: Any) -> tuple[str, list[StageRecord]]:
    """Run (or read from cache) a chain of row stages outside a ``Runner`` (tests, tools).

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
    if start < len(specs):
        execute_plans(cache, executor, [SetPlan(0, task, split, n, [
            Step(s, p, h) for s, p, h in zip(specs[start:], paths[start:], hashes[start:])],
            rows if start == 0 else paths[start - 1], marker,
            chunk_rows=max(s.resources.batch_size for s in specs))], records.append)
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


def cache_root(cfg: Config) -> str:
    """``ray.cache_dir``, or ``<output_dir>/<experiment>/stages`` (shared by run folders)."""
    return stage_cache_root(cfg.ray, cfg.experiment)


def blocks(n: int, block_rows: int, max_blocks: int) -> int:
    """Rows per input block: at least ``block_rows``, at most ``max_blocks`` blocks."""
    return max(block_rows, math.ceil(n / max_blocks), 1)


__all__ = ["Cancelled", "Executor", "LocalExecutor", "Runner", "SplitRun", "StageError", "StageRecord", "StageSet",
           "cache_files", "cache_root"]
