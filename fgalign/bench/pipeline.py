"""Whole-pipeline benchmarks: cached re-run vs first run, driver memory, one sweep trial.

``run_full`` runs ``pipelines/full.py`` in a fresh Python process (what a user runs) and
returns its wall time and the driver's peak resident memory (``ru_maxrss`` of that process
alone: Ray's raylet, object store and workers are other processes). The driver's memory
right after importing the libraries is recorded too, so growth with the data is visible.

- ``bench_rerun``: second run of the same config (every stage cache hit) / first run.
- ``bench_driver_memory``: driver peak at 10× the data / at 1× (streaming, not collecting).
- ``bench_sweep_trial``: one Tune trial of the adaptation (cached embeddings) / the embed
  stage over the caches that trial reads (what it would cost to recompute them).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fgalign.bench.core import (
    PROCESS_GROUPS,
    Measurement,
    ProcessCPU,
    Timer,
    machine_cpu_s,
    skipped,
)

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "pipelines" / "full.py"

# Runs pipelines/full.py as __main__ and writes the driver's memory to a JSON file.
_DRIVER = """
import json, os, resource, runpy, sys
out, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
import numpy, pyarrow, torch, ray, ray.data  # noqa: E401 - libraries every run imports
import fgalign.experiment.plan, fgalign.experiment.evaluate  # noqa: E401
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
sys.argv = [script, *args]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"baseline_mb": base, "peak_mb": peak, "exit": code, "pid": os.getpid()},
          open(out, "w"))
sys.exit(code)
"""


def run_full(config: str, overrides: list[str], log: Path | None = None,
             env: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``pipelines/full.py`` run in a subprocess: seconds, driver memory (MiB), pid."""
    if not FULL.is_file():
        raise FileNotFoundError(f"{FULL} does not exist yet")
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        args = ["--config", config]
        for ov in overrides:
            args += ["--set", ov]
        cmd = [sys.executable, "-c", _DRIVER, out.name, str(FULL), *args]
        run_env = {**os.environ, "RAY_DATA_DISABLE_PROGRESS_BARS": "1", **(env or {})}
        with Timer() as t, open(log or os.devnull, "a") as sink:
            proc = subprocess.run(cmd, cwd=REPO, env=run_env, stdout=sink, stderr=sink,
                                  check=False)
        mem = json.loads(Path(out.name).read_text() or "{}") if proc.returncode == 0 else {}
    if proc.returncode != 0:
        raise RuntimeError(f"pipelines/full.py exited {proc.returncode}; log: {log}")
    return {"seconds": t.s, **mem}


def bench_rerun(config: str, overrides: list[str], log: Path) -> Measurement:
    """Second run of the same config (all stage caches hit) / first run, fresh processes.

    The first run's numbers (memory included) are in ``extra["first"]``.
    """
    first = run_full(config, overrides, log)
    second = run_full(config, overrides, log)
    m = Measurement("rerun_vs_first", "Whole pipeline: cached re-run / first run",
                    second["seconds"] / first["seconds"], "<= 0.1",
                    f"first {first['seconds']:.1f} s, second {second['seconds']:.1f} s "
                    f"(fresh processes: interpreter, imports, ray.init included)",
                    extra={"first": first, "second": second})
    return m


def bench_driver_memory(config: str, small: list[str], large: list[str], scale: int,
                        log: Path, large_run: dict | None = None) -> Measurement:
    """Driver peak memory at ``scale``× the data / 1×, each in a fresh process and cache."""
    big = large_run or run_full(config, large, log)
    one = run_full(config, small, log)
    growth = lambda r: r["peak_mb"] - r["baseline_mb"]
    return Measurement(
        "driver_memory", f"Driver peak memory: {scale}× data / 1×",
        big["peak_mb"] / one["peak_mb"], "<= 1.5",
        f"peak {one['peak_mb']:.0f} MiB at 1×, {big['peak_mb']:.0f} MiB at {scale}×; growth "
        f"over the imports {growth(one):.0f} → {growth(big):.0f} MiB",
        extra={"one": one, "big": big, "scale": scale})


def bench_sweep_trial(cfg: Any, config: str, overrides: list[str], target: str,
                      sweep_dir: str) -> Measurement:
    """One Tune trial of the adaptation sweep / recomputing the embeddings it reads.

    The caches are filled the way ``pipelines/sweep.py`` fills them (``fill_caches``); the
    trial runs through ``run_sweep`` with one sample at the config's hyperparameters; the
    embed time is what the embed stage took for the sources' caches (their ``_SUCCESS``).
    """
    from fgalign.adapt.caches import embed_seconds, fill_caches, needed_keys
    from fgalign.sweep import SweepSpec, run_sweep

    caches, _ = fill_caches(cfg, needed_keys(cfg, target))
    sources = {k: v for k, v in caches.items() if k.split("/")[0] != target}
    embed_s = embed_seconds(sources)
    spec = SweepSpec.model_validate({
        "base": str(Path(config).resolve()), "overrides": overrides, "target": target,
        "num_samples": 1, "max_concurrent_trials": 1, "wandb": False,
        "max_epochs": cfg.adapt.epochs, "grace_period": cfg.adapt.epochs,
        "space": {"lr": {"type": "choice", "values": [cfg.adapt.lr]}}})
    with Timer() as t:
        best = run_sweep(spec, cfg, caches, sweep_dir)
    trial_s = float(best["time_per_trial_s"])
    return Measurement(
        "sweep_trial_vs_embed", "Sweep: one trial / recomputing its embeddings",
        trial_s / embed_s, "<= 0.02",
        f"trial {trial_s:.1f} s (sweep call {t.s:.1f} s with Tune start-up and the target "
        f"evaluation), up to {cfg.adapt.epochs} epochs; embed stage {embed_s:.1f} s for "
        f"{', '.join(sorted(sources))} (model {cfg.model.name})",
        extra={"trial_s": trial_s, "sweep_wall_s": t.s, "embed_s": embed_s,
               "caches": sorted(sources)})


def run_cli(verb: str, config: str, overrides: list[str], log: Path) -> dict[str, Any]:
    """``fgalign <verb> --config ... --set ...`` in a fresh process: wall seconds, the whole
    machine's busy CPU seconds meanwhile (``machine_cpu_s``: Ray's processes included; None
    without ``/proc/stat``), the CPU seconds of that process and its descendants (Ray's
    processes when it starts the cluster) by ``fgalign.bench.core.process_group``
    (``ProcessCPU``, lower bounds; None without ``/proc``) and the run folder's
    ``timings.json`` / ``stages.json`` (the newest run folder it wrote)."""
    last = {o.split("=", 1)[0]: o.split("=", 1)[1] for o in overrides}  # the last one wins
    out_dir, name = last["experiment.output_dir"], last["experiment.name"]
    args = [sys.executable, "-m", "fgalign", verb, "--config", config]
    for ov in overrides:
        args += ["--set", ov]
    if verb == "run":
        args.append("--no-wandb")
    env = {**os.environ, "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}
    cpu0 = machine_cpu_s()
    with ProcessCPU() as by_process, Timer() as t, open(log, "a") as sink:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=sink, stderr=sink)
        by_process.root = proc.pid
        try:
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    cpu1 = machine_cpu_s()
    if proc.returncode != 0:
        raise RuntimeError(f"fgalign {verb} exited {proc.returncode}; log: {log}")
    run = max((p for p in (Path(out_dir) / name).glob("[0-9a-f]*") if p.is_dir()),
              key=lambda p: (p / "timings.json").stat().st_mtime)
    return {"seconds": t.s, "cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
            "cpu_by_process": by_process.groups, "cpu_by_pool": by_process.pools,
            "cpu_interval_s": by_process.interval,
            "timings": json.loads((run / "timings.json").read_text()),
            "stages": json.loads((run / "stages.json").read_text())}


def busy_share(run: dict[str, Any], stage: str = "embed") -> float:
    """Seconds spent inside ``stage``'s batches / wall seconds of the run's stage pass."""
    busy = sum(r["seconds"] for r in run["stages"] if r["stage"] == stage and not r["cached"])
    t = run["timings"]
    wall = t.get("stages_s", 0.0)
    return busy / wall if wall else 0.0


def process_row(ray: dict[str, Any], local: dict[str, Any]) -> Measurement:
    """The CPU seconds of one cold Ray run by process group (``run_cli``'s
    ``cpu_by_process``) beside the in-process run's: the value is the share of the Ray run's
    CPU spent in processes no stage asked for (Ray's daemons and idle workers, Ray Data's own
    actors), which the in-process run does not have."""
    title = "Engine: Ray's own processes / all CPU of a cold Ray run"
    groups, mine = ray.get("cpu_by_process"), local.get("cpu_by_process")
    if not groups or not mine:
        return skipped("ray_cpu_by_process", title, "", "no /proc on this machine")
    total = sum(groups.values())
    own = groups["Ray's daemons and idle workers"] + groups["Ray Data's own actors"]
    return Measurement(
        "ray_cpu_by_process", title, own / total if total else 0.0, "",
        f"CPU seconds of each run's process and its descendants, read from /proc every "
        f"{ray.get('cpu_interval_s', 0.2)} s (lower bounds), median cold repeat: Ray run "
        + ", ".join(f"{g} {groups[g]:.1f}" for g in PROCESS_GROUPS)
        + f" (all {total:.1f}; the pools: "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(ray.get("cpu_by_pool", {}).items()))
        + f"); in process: driver {mine['driver']:.1f}, other {mine['other']:.1f}",
        extra={"ray": groups, "pools": ray.get("cpu_by_pool", {}), "local": mine})


def bench_engine(config: str, overrides: list[str], work: Path, log: Path,
                 repeats: int = 1, images: int | None = None) -> list[Measurement]:
    """``fgalign run`` (Ray) / ``fgalign evaluate`` (in process), same world, cold and warm.

    Each repeat is four fresh processes side by side: both cold (each on its own empty stage
    cache and output folder), then both warm (on their own caches); which path goes first
    alternates between repeats, so that a machine that gets busier or quieter during the
    bench does not favour one. The ratio of a repeat is Ray / in process of that repeat;
    the reported ratio is the median over repeats (a shared machine's noise on one pair is
    often larger than the difference measured), every pair listed beside it. Also reports
    the executions a Ray run started, the busy share of its embed pool and the CPU of its
    processes by group (median repeat).
    ``images``: the world's scenes, named in the result (the caller made the world).
    """
    import shutil

    pairs: list[dict[str, list[dict[str, Any]]]] = []
    for i in range(repeats):
        order = ("run", "evaluate") if i % 2 == 0 else ("evaluate", "run")
        runs: dict[str, list[dict[str, Any]]] = {}
        ovs = {verb: [*overrides, f"experiment.output_dir={work / verb}",
                      "experiment.name=engine", f"ray.cache_dir={work / verb / 'stages'}"]
               for verb in order}
        for verb in order:
            shutil.rmtree(work / verb, ignore_errors=True)  # cold: no cache, no run folder
            runs[verb] = [run_cli(verb, config, ovs[verb], log)]
        for verb in order:
            runs[verb].append(run_cli(verb, config, ovs[verb], log))
        pairs.append(runs)

    def median_pair(k: int) -> tuple[float, dict[str, Any], dict[str, Any], str, dict]:
        """(median ratio, Ray and in-process runs of the median repeat, every pair as text,
        the measurement's raw numbers) of the ``k``-th run of each repeat (0 cold, 1 warm)."""
        ratios = [p["run"][k]["seconds"] / p["evaluate"][k]["seconds"] for p in pairs]
        mid = sorted(range(len(pairs)), key=lambda i: ratios[i])[len(pairs) // 2]
        each = ", ".join(f"{p['run'][k]['seconds']:.1f}/{p['evaluate'][k]['seconds']:.1f} s"
                         for p in pairs)
        ray, local = pairs[mid]["run"][k], pairs[mid]["evaluate"][k]
        extra = {"ray": ray["timings"], "local": local["timings"],
                 "pairs_s": [(p["run"][k]["seconds"], p["evaluate"][k]["seconds"])
                             for p in pairs]}
        return float(statistics.median(ratios)), ray, local, each, extra

    cold, ray_cold, loc_cold, cold_each, cold_extra = median_pair(0)
    warm, ray_warm, loc_warm, warm_each, warm_extra = median_pair(1)
    n = f"median of {repeats} repeats" if repeats > 1 else "one repeat"
    if images is not None:
        n = f"world of {images} scenes, {n}"
    cpu = [(p["run"][0]["cpu_s"], p["evaluate"][0]["cpu_s"]) for p in pairs]
    cpu_ratio = (float(statistics.median(r / e for r, e in cpu)) if all(r and e for r, e in cpu)
                 else None)
    cores, title = os.cpu_count() or 1, "Engine: machine CPU seconds, Ray / in process, cold"
    cpu_row = (Measurement(
        "ray_cpu_vs_inprocess", title, cpu_ratio, "",
        "the CPU the whole machine was busy during each run (/proc/stat: every process of the "
        "run, Ray's workers and daemons too, and anything else running), core-seconds Ray / in "
        "process: " + ", ".join(f"{r:.0f}/{e:.0f}" for r, e in cpu) + f"; {cores} cores: a run "
        f"busy on all of them for its whole wall time uses {cores} × its seconds",
        extra={"cpu_s": cpu, "cores": cores})
        if cpu_ratio is not None else skipped("ray_cpu_vs_inprocess", title, "",
                                               "no /proc/stat on this machine"))
    by_process = process_row(ray_cold, loc_cold)
    ex = ray_cold["timings"].get("executions")
    share = busy_share(ray_cold)
    timeline = ray_cold["timings"].get("execution_timeline", [])
    startup = sum(e["startup_s"] for e in timeline) / max(len(timeline), 1)
    t = ray_cold["timings"]
    return [
        Measurement("ray_vs_inprocess_cold", "Engine: fgalign run (Ray) / evaluate, cold",
                    cold, "<= 1.2",
                    f"{n}; median repeat: Ray {ray_cold['seconds']:.1f} s, in process "
                    f"{loc_cold['seconds']:.1f} s (fresh processes, empty caches; Ray start "
                    f"{t.get('ray_start_s', t.get('ray_init_s', 0)):.1f} s, the run waited "
                    f"{t.get('ray_init_s', 0):.1f} s for it; {ex} executions); each repeat, "
                    f"Ray/in process: {cold_each}", extra=cold_extra),
        Measurement("ray_vs_inprocess_warm", "Engine: fgalign run (Ray) / evaluate, warm",
                    warm, "<= 1.2",
                    f"{n}; median repeat: Ray {ray_warm['seconds']:.1f} s, in process "
                    f"{loc_warm['seconds']:.1f} s (every stage cached: Ray not started); each "
                    f"repeat: {warm_each}", extra=warm_extra),
        cpu_row,
        by_process,
        Measurement("ray_executions", "Engine: Ray Data executions per run (cold)",
                    float(ex or 0), "<= 7",
                    f"{ex} executions over {len(ray_cold['stages'])} stage records",
                    extra={"executions": ex}),
        Measurement("ray_execution_startup", "Engine: pool start-up per Ray execution (cold), s",
                    startup, "",
                    "seconds from an execution's start to its first chunk back, less that "
                    "chunk's stage seconds (actor processes, imports, models; for the rows, "
                    "when they start with the images, also their wait for the images), mean "
                    "over " + "; ".join(f"{e['operators']}: began at {e.get('start_s', 0):.1f}"
                                        f" s, start-up {e['startup_s']:.1f} s, wall "
                                        f"{e['wall_s']:.1f} s, in stages {e['busy_s']:.1f} s"
                                        for e in timeline),
                    extra={"timeline": timeline}),
        Measurement("embed_busy_share", "Engine: embed pool busy / stage wall time (Ray, cold)",
                    share, "",
                    "seconds inside the embed stage's batches / wall time of the run's stage "
                    "pass", extra={"share": share}),
    ]
