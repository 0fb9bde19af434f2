"""Input sets as chunks, and one stage applied to the chunks of every input set it serves.

Both executors run the same plan with the same code: a list of ``SetPlan`` s (one input set
each: a task's rows of one split, the distinct images of an image configuration, the answer
prompts), each with the ``Step`` s it still has to compute, in ``fgalign.schema.STAGE_NAMES``
order. A set is cut into **chunks** once (``set_chunks``: ``chunk_rows`` rows, in input
order, or the part files of the cache it resumes from), and every chunk of every set flows
through one ``ChunkStage`` per stage kind:

    chunk = {"set": int, "part": int, "path": str, "data": bytes, "t_<stage>": float}

- ``path``: the Parquet file holding the chunk's rows as the previous stage wrote them;
  ``data``: the rows as Arrow IPC bytes instead (a set's first stage, rows from the driver).
- A ``ChunkStage`` computes the chunks of the sets that have a step of its kind and passes
  the others through untouched. It calls the stage in batches of that stage's
  ``resources.batch_size`` rows with rows that raise isolated (``fgalign.engine.rowguard``), and
  writes the output as ``<step.tmp>/part-<part>.parquet`` (a temporary name renamed into
  place: a retried chunk rewrites the same file, never adds a second one). That file is both
  the stage's cache of the chunk (committed by the runner once the set is through) and the
  next stage's input: the data moves on through the cache, the dataset carries only paths.
- Stage objects are built once per ``ChunkStage`` and per distinct spec (a CLIP or detector
  stage keeps its model, ``fgalign.embed.backbone_of`` memoises backbones per process), so an
  actor serves every input set of its execution with one model.
- ``t_<stage>``: seconds spent inside the stage for that chunk (``stages.json`` records their
  sum per set: the busy time of the stage, not wall time, which overlapping stages share).

Batches never mix sets, and a chunk is computed identically whatever executor runs it, so the
in-process and the Ray executor write the same caches.

**Gates.** A row set's steps may carry a ``Gate``: the cache directories that must be
committed before any of its chunks is computed (the images and prompts the row stages read,
computed by an execution that runs at the same time, ``fgalign.engine.runner``), an abort
file whose appearance means they never will be, and the ``images`` shards whose ``error``
column is copied onto the set's input rows (a row whose image failed carries that error
through every stage). A ``ChunkStage`` waits at the gate before its first chunk of the set
and builds that set's stage object only then (a stage may read the gated caches when built);
``warm`` does the expensive, gate-free part of building it (models) ahead of time.
"""
from __future__ import annotations

import pickle
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fgalign.engine.arrow import run_batch, to_arrow_table
from fgalign.engine.cache import cache_files, read_table, resolve_uri
from fgalign.engine.rowguard import RowGuard, concat_batches
from fgalign.schema import STAGE_NAMES


@dataclass
class Gate:
    """What a row set's chunks wait for (module docstring, "Gates").

    ``paths``: cache directories that must hold ``_SUCCESS`` first; ``abort``: a file whose
    existence means they will not (the execution writing them failed); ``errors_from``:
    ``images`` shards whose ``error`` column is copied onto the input rows (by ``image_key``)
    of a chunk that comes from the driver.
    """

    paths: list[str] = field(default_factory=list)
    abort: str = ""
    errors_from: list[str] = field(default_factory=list)
    poll_s: float = 0.2


class GateAborted(RuntimeError):
    """The caches a gate waits for will not be written (their execution failed)."""


def _exists(path: str) -> bool:
    import pyarrow.fs as pafs

    fs, where = resolve_uri(path)
    return fs.get_file_info(where).type != pafs.FileType.NotFound


def wait_gate(gate: Gate) -> None:
    """Block until every path of ``gate`` is committed.

    Raises:
        GateAborted: ``gate.abort`` appeared first.
    """
    todo = list(gate.paths)
    while todo:
        todo = [p for p in todo if not _exists(f"{p}/_SUCCESS")]
        if not todo:
            return
        if gate.abort and _exists(gate.abort):
            raise GateAborted(f"the execution writing {todo[0]} failed")
        time.sleep(gate.poll_s)


def image_errors(shards: list[str]) -> dict[str, str]:
    """``{image_key: error}`` of the failed images in ``images`` shards (later shards win)."""
    errors: dict[str, str] = {}
    for shard in shards:
        for b in read_table(shard, ["image_key", "error"]):
            for k, e in zip(b["image_key"], b["error"]):
                errors[str(k)] = str(e or "")
    return {k: e for k, e in errors.items() if e}


@dataclass
class Step:
    """One stage of one input set: its spec, the cache it commits and where it writes first."""

    spec: Any  # fgalign.engine.spec.StageSpec
    path: str  # the committed cache directory
    hash: str  # chain hash (row stages) or store hash (image stages)
    tmp: str = ""  # the temporary directory the executor writes (``StageCache.begin``)
    operator: str = ""  # the pool that runs it (default: its own stage's)
    gate: Gate | None = None  # what its chunks wait for (module docstring)

    @property
    def op(self) -> str:
        return self.operator or self.spec.name


@dataclass
class SetPlan:
    """One input set of an execution (see the module docstring).

    ``source``: the rows of the first step (list of row dicts) or the cache directory of the
    stage before it. ``n``: rows. ``marker``: extra entries of each committed ``_SUCCESS``.
    """

    key: int
    task: str
    split: str
    n: int
    steps: list[Step]
    source: list[dict] | str
    marker: dict[str, Any] = field(default_factory=dict)
    chunk_rows: int = 128

    @property
    def stages(self) -> list[str]:
        return [s.op for s in self.steps]


def plain(v: Any) -> Any:
    """numpy values (also inside lists) as Python lists / scalars (Arrow-convertible rows)."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def rows_table(rows: list[dict[str, Any]]) -> Any:
    """Row dicts as one Arrow table (the first stage's input, in both executors)."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


def ipc_bytes(table: Any) -> bytes:
    """An Arrow table as IPC stream bytes."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def set_chunks(plan: SetPlan, stages: list[str]) -> list[dict[str, Any]]:
    """The chunks of one set (module docstring), timing fields zero for ``stages``."""
    times = {f"t_{s}": 0.0 for s in stages}
    if isinstance(plan.source, str):
        _, files = cache_files(plan.source)
        return [{"set": plan.key, "part": i, "path": f, "data": b"", **times}
                for i, f in enumerate(files)]
    table = rows_table([{k: plain(v) for k, v in r.items()} for r in plan.source])
    size = max(1, plan.chunk_rows)
    return [{"set": plan.key, "part": i // size, "path": "",
             "data": ipc_bytes(table.slice(i, size)), **times}
            for i in range(0, table.num_rows, size)]


def read_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """The rows of a chunk as a numpy dict-batch (Ray's block accessor: tensor columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor  # also registers Ray's Arrow tensor types

    data, path = chunk["data"], str(chunk["path"])
    if path:
        fs, where = resolve_uri(path)
        table = pq.read_table(where, filesystem=fs)
    else:
        table = pa.ipc.open_stream(pa.py_buffer(bytes(data))).read_all()
    return BlockAccessor.for_block(table).to_numpy()


def write_part(table: Any, tmp_dir: str, part: int) -> str:
    """``table`` as ``<tmp_dir>/part-<part>.parquet`` through a temporary name; its path."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, where = resolve_uri(tmp_dir)
    final = f"{where}/part-{part:06d}.parquet"
    partial = f"{where}/.part-{part:06d}-{uuid.uuid4().hex[:8]}"
    pq.write_table(table, partial, filesystem=fs)
    if fs.get_file_info(final).type != pafs.FileType.NotFound:
        fs.delete_file(final)
    fs.move(partial, final)
    return final if "://" not in tmp_dir else f"{tmp_dir}/part-{part:06d}.parquet"


class ChunkStageFailed(RuntimeError):
    """A stage raised on a chunk as a whole; the message starts ``[stage <name> set <key>]``."""


FAILED_AT = re.compile(r"\[stage (\w+) set (\d+)\] ([^\n]*)")


def failed_at(message: str) -> tuple[str, int, str] | None:
    """``(stage, set key, error)`` of the first ``ChunkStageFailed`` quoted in ``message``."""
    m = FAILED_AT.search(message)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


class ChunkStage:
    """One stage kind over the chunks of every set (module docstring).

    Args:
        stage: the stage name (``fgalign.schema.STAGE_NAMES``).
        steps: ``{set key: Step}`` of the sets that compute this stage (others pass through).
    """

    def __init__(self, stage: str, steps: dict[int, Step]):
        self.name, self.steps = stage, steps
        self._stages: dict[bytes, Any] = {}
        self._guards: dict[int, RowGuard] = {}
        self._passed: set[int] = set()  # sets whose gate this stage passed
        self._errors: dict[int, dict[str, str]] = {}  # set -> image errors (its gate's)

    def prepare(self) -> None:
        """Build now what needs no gate: the stage objects of ungated steps and, for gated
        ones, what the stage class's ``warm(**kwargs)`` loads (its model), so that the first
        chunk after the gate does not wait for it."""
        for step in self.steps.values():
            if step.gate is None:
                self._stage(step)
            elif hasattr(step.spec.cls, "warm"):
                step.spec.cls.warm(**step.spec.kwargs)

    def _gate(self, key: int, step: Step, chunk: dict[str, Any], batch: dict[str, Any]
              ) -> dict[str, Any]:
        """Wait at ``step.gate`` (once per set); copy image errors onto driver rows."""
        gate = step.gate
        if gate is None:
            return batch
        if key not in self._passed:
            wait_gate(gate)
            self._passed.add(key)
        if not gate.errors_from or not chunk["data"] or "image_key" not in batch:
            return batch  # rows from a cache already carry their image errors
        if key not in self._errors:
            self._errors[key] = image_errors(gate.errors_from)
        errors = self._errors[key]
        if not errors:
            return batch
        import numpy as np

        own = batch.get("error")
        new = [str(own[i]) if own is not None and own[i] else errors.get(str(k), "")
               for i, k in enumerate(batch["image_key"])]
        return dict(batch, error=np.array(new, dtype=object))

    def _stage(self, step: Step) -> Any:
        key = pickle.dumps((step.spec.cls.__module__, step.spec.cls.__qualname__,
                            sorted(step.spec.kwargs.items())))
        if key not in self._stages:
            self._stages[key] = step.spec.cls(**step.spec.kwargs)
        return self._stages[key]

    def __call__(self, chunk: dict[str, Any]) -> dict[str, Any]:
        key = int(chunk["set"])
        step = self.steps.get(key)
        if step is None:
            return chunk
        try:
            batch = self._gate(key, step, chunk, read_chunk(chunk)) if step.gate else None
        except GateAborted as e:
            raise ChunkStageFailed(f"[stage {self.name} set {key}] {e}") from e
        t0 = time.perf_counter()  # the stage's time starts after the gate
        batch = read_chunk(chunk) if batch is None else batch
        stage = self._stage(step)
        if key not in self._guards:  # counts this stage's rows and failures, per set
            rf = step.spec.row_failures
            self._guards[key] = RowGuard(step.spec.name, rf.max_share, rf.min_rows)
        guard = self._guards[key]
        size = max(1, step.spec.resources.batch_size)
        n = len(next(iter(batch.values()))) if batch else 0
        try:
            outs = [run_batch(stage, step.spec.name, {k: v[i:i + size] for k, v in
                                                      batch.items()}, guard)
                    for i in range(0, n, size)] or [batch]
        except Exception as e:  # the stage is broken: say which, for the runner's message
            raise ChunkStageFailed(f"[stage {self.name} set {key}] {type(e).__name__}: "
                                   f"{str(e)[:500]}") from e
        table = to_arrow_table(concat_batches(outs) if len(outs) > 1 else outs[0])
        path = write_part(table, step.tmp, int(chunk["part"]))
        return dict(chunk, path=path, data=b"",
                    **{f"t_{self.name}": float(chunk.get(f"t_{self.name}", 0.0))
                       + time.perf_counter() - t0})


def operator_stages(plans: list[SetPlan]) -> list[str]:
    """The stage kinds an execution of ``plans`` needs, in graph order."""

    used = {s for p in plans for s in p.stages}
    return [s for s in STAGE_NAMES if s in used]


def stage_steps(plans: list[SetPlan], stage: str) -> dict[int, Step]:
    """``{set key: Step}`` of the sets with a step of kind ``stage``."""
    return {p.key: s for p in plans for s in p.steps if s.op == stage}
