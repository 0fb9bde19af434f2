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
from collections.abc import Callable
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
    (``ray::MapWorker(...)``); ``Ray Data's own actors``: the three that every Ray Data
    execution starts (``RAY_DATA_ACTORS``); ``Ray's daemons and idle workers``: any other
    process of the Ray installation (GCS, raylet, dashboard, monitors, agents, ``ray::IDLE``);
    ``other``: anything else the machine started meanwhile."""
    if cmdline.startswith("ray::MapWorker"):
        return "stage pools"
    if cmdline.startswith(RAY_DATA_ACTORS):
        return "Ray Data's own actors"
    if cmdline.startswith("ray::") or "/site-packages/ray/" in cmdline:
        return "Ray's daemons and idle workers"
    if " -m fgalign " in f" {cmdline} ":
        return "driver"
    return "other"


class ProcessCPU:
    """``with ProcessCPU() as p: <start a run>``; then ``p.groups`` is the CPU seconds (user +
    system) of every process that started inside the block, summed per ``process_group``.

    Linux only (``/proc``): a background thread reads ``/proc/<pid>/stat`` and ``cmdline`` of
    the processes not there when the block began, every ``interval`` seconds, and keeps each
    one's last reading (and last command line: Ray renames a worker when it takes an actor).
    A process's CPU after its last reading is not counted (at most ``interval`` seconds of
    it), so the sums are lower bounds. ``groups`` is None without ``/proc``.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.groups: dict[str, float] | None = None
        self._seen: dict[int, tuple[str, float]] = {}  # pid -> (command line, CPU seconds)

    @staticmethod
    def _pids() -> set[int]:
        return {int(d) for d in os.listdir("/proc") if d.isdigit()}

    def _read(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self._pids() - self._before:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:  # it ended between the listing and the read
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
            cpu = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15)
            name = cmd.decode(errors="replace").strip() or self._seen.get(pid, ("", 0.0))[0]
            self._seen[pid] = (name, cpu)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self._read()

    def __enter__(self):  # -> ProcessCPU
        import threading

        if not Path("/proc/self/stat").exists():
            self._thread = None
            return self
        self._before = self._pids()
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
        groups = dict.fromkeys(PROCESS_GROUPS, 0.0)
        for name, cpu in self._seen.values():
            groups[process_group(name)] += cpu
        self.groups = groups


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
