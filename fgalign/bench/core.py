"""What every benchmark returns (``Measurement``), timing helpers and the results table.

A benchmark is a function that measures two things side by side in one process, on the same
data, and returns one or more ``Measurement``: a ratio, the target it must meet (``>= 0.85``,
``<= 0.1``, or none for a reported-only number) and a detail line with the raw numbers the
ratio came from. ``format_table`` prints them; ``fgalign.bench.report`` writes BENCHMARKS.md.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}


@dataclass
class Measurement:
    """One row of the benchmark table.

    Attributes:
        name: stable id (``embed_ray_vs_loop``), used in JSON output and tests.
        title: what is compared, for people (``Ray Data Embedder / in-process loop``).
        value: the measured ratio (None when the benchmark could not run).
        target: ``">= 0.85"``, ``"<= 0.1"`` or ``""`` (reported, no target).
        detail: the raw numbers behind the ratio (throughputs, seconds, sizes).
        note: why it was skipped, or the cause of a miss.
        extra: raw numbers as data (written to the JSON results).
    """

    name: str
    title: str
    value: float | None
    target: str = ""
    detail: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``met`` | ``MISSED`` | ``reported`` | ``skipped``."""
        if self.value is None:
            return "skipped"
        if not self.target:
            return "reported"
        op, threshold = self.target.split()
        return "met" if _OPS[op](self.value, float(threshold)) else "MISSED"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def skipped(name: str, title: str, target: str, why: str) -> Measurement:
    """A measurement that could not be taken, with the reason (one line, ANSI codes removed)."""
    import re

    why = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(why.split()))
    return Measurement(name, title, None, target, note=why[:400])


def best_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Minimum wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    The minimum is the least noisy estimate on a shared machine (other load only adds time).
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


class Timer:
    """``with Timer() as t: ...``; then ``t.s`` is the elapsed wall time in seconds."""

    def __enter__(self):  # -> Timer (typing.Self needs Python 3.11)
        self.t0 = time.perf_counter()
        self.s = 0.0
        return self

    def elapsed(self) -> float:
        """Seconds since the block started (while inside it)."""
        return time.perf_counter() - self.t0

    def __exit__(self, *exc: object) -> None:
        self.s = self.elapsed()


def machine_cpu_s() -> float | None:
    """CPU seconds the whole machine has been busy since boot, over all cores (``/proc/stat``:
    user, nice, system, irq and softirq time; idle, iowait and steal left out), or None where
    there is no ``/proc/stat``. The difference over a block of work is the CPU it took, every
    process of it counted (Ray's workers and daemons too), and anything else the machine ran
    meanwhile: read it beside the load average."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


# Who a process is, by its command line (``process_group``): the run's own driver, its stage
# pools, or Ray's processes that no stage asked for. Ray names its worker processes
# ``ray::<class>`` (``ray::IDLE`` before a task or actor is given to it).
RAY_DATA_ACTORS = ("ray::_StatsActor", "ray::_AutoscalingCoordinatorActor",
                   "ray::ActorLocationTracker")
PROCESS_GROUPS = ("driver", "stage pools", "Ray Data's own actors",
                  "Ray's daemons and idle workers", "other")


def process_group(cmdline: str) -> str:
    """One of ``PROCESS_GROUPS`` for a command line (arguments joined by spaces).

    ``driver``: ``python -m fgalign ...``; ``stage pools``: Ray Data's map workers
    (``ray::MapWorker(...)``); ``Ray Data's own actors``: the three that Ray Data starts
    once per cluster, at its first execution (``RAY_DATA_ACTORS``); ``Ray's daemons and idle
    workers``: any other process of the Ray installation (GCS, raylet, dashboard, monitors,
    agents, ``ray::IDLE``); ``other``: anything else."""
    if cmdline.startswith("ray::MapWorker"):
        return "stage pools"
    if cmdline.startswith(RAY_DATA_ACTORS):
        return "Ray Data's own actors"
    if cmdline.startswith("ray::") or "/site-packages/ray/" in cmdline:
        return "Ray's daemons and idle workers"
    if " -m fgalign " in f" {cmdline} ":
        return "driver"
    return "other"


def cpu_by_group(processes: list[tuple[str, float]]
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """(CPU seconds per ``process_group``, CPU seconds per stage pool) of (command line, CPU
    seconds) pairs; a pool is its actors' command line without ``ray::``
    (``MapWorker(MapBatches(RegionsImagesChunks))``), summed over its actors."""
    groups, pools = dict.fromkeys(PROCESS_GROUPS, 0.0), {}
    for name, cpu in processes:
        group = process_group(name)
        groups[group] += cpu
        if group == "stage pools":
            pool = name.removeprefix("ray::")
            pools[pool] = pools.get(pool, 0.0) + cpu
    return groups, pools


class ProcessCPU:
    """The CPU seconds (user + system) of a process and its descendants, per ``process_group``::

        with ProcessCPU() as p:
            proc = subprocess.Popen(args)
            p.root = proc.pid
            proc.wait()
        p.groups   # {"driver": 16.3, "stage pools": 26.1, ...}; p.pids: the processes counted
        p.pools    # the stage pools apart: {"MapWorker(MapBatches(RegionsImagesChunks))": 9.1, ...}

    Linux only (``/proc``; ``groups`` stays None without it). A background thread lists
    ``/proc`` every ``interval`` seconds and reads ``stat`` (and ``cmdline``) of each process
    that was not there when the block began, keyed by (pid, start time) so that a reused pid
    is a new process. It keeps each one's parent as first seen, its last CPU reading and its
    last command line (Ray renames a worker when it takes an actor). At the end, ``root`` and
    the processes descended from it are summed; with ``root`` None, every new process.

    The sums are lower bounds: a process's CPU after its last reading is lost (up to
    ``interval`` seconds per thread; the root's last stretch too, as it is reaped before the
    final reading), and a process that lives less than one interval may be missed.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.root: int | None = None
        self.groups: dict[str, float] | None = None
        self.pids: set[int] = set()
        self.pools: dict[str, float] = {}
        self._before: set[tuple[int, int]] = set()
        self._seen: dict[tuple[int, int], list] = {}  # (pid, start) -> [ppid, cmdline, CPU s]

    @staticmethod
    def _stats() -> Iterator[tuple[int, int, int, float]]:
        """(pid, start time in ticks, parent pid, CPU seconds) of every process now."""
        tick = os.sysconf("SC_CLK_TCK")
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = Path(f"/proc/{d}/stat").read_bytes()
                f = stat.rsplit(b")", 1)[1].split()  # after "pid (comm)": field 3 (state) on
                yield int(d), int(f[19]), int(f[1]), (int(f[11]) + int(f[12])) / tick
            except (OSError, ValueError, IndexError):  # it ended meanwhile, or an odd line
                continue  # fields: 4 ppid, 14 utime, 15 stime, 22 start time (proc(5))

    def _read(self) -> None:
        for pid, start, ppid, cpu in self._stats():
            if (pid, start) in self._before:
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                cmd = b""
            name = cmd.replace(b"\0", b" ").decode(errors="replace").strip()
            got = self._seen.setdefault((pid, start), [ppid, name, 0.0])
            got[1], got[2] = name or got[1], cpu

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self._read()

    def __enter__(self):  # -> ProcessCPU
        import threading

        if not Path("/proc/self/stat").exists():
            self._thread = None
            return self
        self._before = {(pid, start) for pid, start, _, _ in self._stats()}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fgalign-process-cpu",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._done.set()
        self._thread.join()
        self._read()
        keep = set(self._seen)
        if self.root is not None:
            tree, grew = {self.root}, True
            while grew:  # the descendants of root, through each process's first-seen parent
                grown = tree | {pid for (pid, _), (ppid, _, _) in self._seen.items()
                                if ppid in tree}
                grew, tree = grown != tree, grown
            keep = {k for k in self._seen if k[0] in tree}
        self.groups, self.pools = cpu_by_group([self._seen[k][1:] for k in keep])
        self.pids = {pid for pid, _ in keep}


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux ``ru_maxrss`` is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine_info() -> dict[str, Any]:
    """The machine a run was measured on (for BENCHMARKS.md)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem_gib, 1), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_avg_1_5_15": [round(x, 2) for x in load]}


def format_table(results: list[Measurement]) -> str:
    """Plain-text table: benchmark, ratio, target, status, raw numbers."""
    head = ("benchmark", "ratio", "target", "status", "measured")
    rows = [head] + [(m.title, "-" if m.value is None else f"{m.value:.3f}", m.target or "-",
                      m.status, m.detail or m.note) for m in results]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 8)
    return "\n".join(lines)
