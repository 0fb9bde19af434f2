"""Work counters that every process of a run (driver and Ray actors) can report to one folder.

Off unless the environment variable ``FGALIGN_COUNTERS_DIR`` names a folder (``fgalign bench
--only scale`` sets it for the runs it measures). Ray workers of a local cluster inherit the
driver's environment; on a cluster, set it in the job's ``runtime_env`` to shared storage.
When on, each process appends one JSON line per event to its own file
``$FGALIGN_COUNTERS_DIR/<hostname>-<pid>.jsonl`` (``O_APPEND`` writes of one short line: safe
across threads, nothing to flush when Ray kills an actor)::

    {"kind": "proposer", "n": 1, "s": 0.0123, "pid": 4242, "key": "9f…", "regions": 7, "name": "segment"}

Interface (the contract other stages should follow to report their work):

    count(kind, n=1, seconds=0.0, **fields)   # one event: n items of ``kind`` took ``seconds``
    timed(kind, n=1, **fields)                # context manager: count(...) with its wall time
    enabled()                                 # True when counting is on (skip costly keys if not)
    image_key(array)                          # 16-hex content hash of an image (distinctness)
    read_events(folder) -> list[dict]         # every event of every process
    summarize(folder, driver_pid=None)        # totals per kind (and per kind in the driver)

Kinds reported by fgalign itself (``n`` counts items, ``s`` is wall seconds of the call):

- ``proposer``: one call of a region proposer on one image (``fgalign.regions.create_proposer``
  wraps every proposer); fields ``name`` (registry name), ``key`` (``image_key`` of the image)
  and ``regions`` (boxes returned). A stage that proposes once per distinct image has
  ``calls == distinct keys``.
- ``image_encoder``: ``Backbone.encode_images``; ``n`` = images + crops encoded.
- ``text_encoder``: ``Backbone.encode_texts``; ``n`` = texts encoded.
- ``build``: a model was built; field ``what`` (``backbone:<name>`` / ``proposer:<name>``).
  In the driver process this should be 0 (issue 11: no model in the driver).

A new stage that does model work (e.g. a retrieval pass) should call ``count`` / ``timed``
with its own kind, and the scale benchmark reports it without change.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "FGALIGN_COUNTERS_DIR"
_fd: dict[str, int] = {}  # folder → open append-only file descriptor of this process


def enabled() -> bool:
    """True when ``FGALIGN_COUNTERS_DIR`` is set (counting on)."""
    return bool(os.environ.get(ENV))


def _file(folder: str) -> int:
    key = f"{folder}:{os.getpid()}"  # a forked child gets its own file
    fd = _fd.get(key)
    if fd is None:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{socket.gethostname()}-{os.getpid()}.jsonl")
        fd = _fd[key] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return fd


def count(kind: str, n: int = 1, seconds: float = 0.0, **fields: Any) -> None:
    """Record that ``n`` items of ``kind`` were processed in ``seconds`` (no-op when off).

    ``fields`` must be JSON-able (names, keys, sizes).
    """
    folder = os.environ.get(ENV)
    if not folder:
        return
    event = {"kind": kind, "n": int(n), "s": round(float(seconds), 6), "pid": os.getpid(),
             **fields}
    os.write(_file(folder), (json.dumps(event, separators=(",", ":")) + "\n").encode())


@contextmanager
def timed(kind: str, n: int = 1, **fields: Any) -> Iterator[dict[str, Any]]:
    """``with timed("detector", n=1) as ev: ...`` counts on exit, with the block's wall time.

    The yielded dict may be updated inside the block (e.g. ``ev["regions"] = 7``).
    """
    if not enabled():
        yield {}
        return
    extra: dict[str, Any] = {}
    t0 = time.perf_counter()
    yield extra
    count(kind, n, time.perf_counter() - t0, **fields, **extra)


def image_key(image: Any) -> str:
    """Content hash (16 hex digits) of an image array or PIL image: identifies distinct images."""
    import numpy as np

    arr = np.ascontiguousarray(np.asarray(image))
    h = hashlib.blake2b(arr.tobytes(), digest_size=8)
    h.update(str(arr.shape).encode())
    return h.hexdigest()


def read_events(folder: str | Path) -> list[dict[str, Any]]:
    """Every event written under ``folder`` (all processes); a torn last line is skipped."""
    events = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def summarize(folder: str | Path, driver_pid: int | None = None) -> dict[str, Any]:
    """Totals of the events under ``folder``.

    Returns:
        ``{"kinds": {kind: {"calls", "n", "seconds"}}, "driver": {kind: {...}} (events of
        ``driver_pid`` only), "proposer": {"distinct_images", "regions_of_distinct"},
        "builds": {what: count}, "processes": int}``. ``regions_of_distinct`` sums, over
        distinct proposer image keys, the regions returned the first time (the crops an
        image side computed once per image would encode).
    """
    kinds: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "n": 0, "seconds": 0.0})
    driver: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "n": 0, "seconds": 0.0})
    regions_by_key: dict[str, int] = {}
    builds: dict[str, int] = defaultdict(int)
    pids = set()
    for e in read_events(folder):
        pids.add(e.get("pid"))
        for table, keep in ((kinds, True), (driver, e.get("pid") == driver_pid)):
            if keep:
                t = table[e["kind"]]
                t["calls"] += 1
                t["n"] += e.get("n", 0)
                t["seconds"] += e.get("s", 0.0)
        if e["kind"] == "proposer" and "key" in e:
            regions_by_key.setdefault(e["key"], int(e.get("regions", 0)))
        if e["kind"] == "build":
            builds[str(e.get("what", "?"))] += 1
    return {"kinds": dict(kinds), "driver": dict(driver), "builds": dict(builds),
            "proposer": {"distinct_images": len(regions_by_key),
                         "regions_of_distinct": sum(regions_by_key.values())},
            "processes": len(pids)}
