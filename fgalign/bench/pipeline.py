"""Whole-pipeline benchmarks: cached re-run vs first run, driver memory, one sweep trial.

``run_full`` runs ``pipelines/full.py`` in a fresh Python process (what a user runs) and
returns its wall time and the driver's peak resident memory (``ru_maxrss`` of that process
alone: Ray's raylet, object store and workers are other processes). The driver's memory
right after importing the libraries is recorded too, so growth with the data is visible.

- ``bench_rerun``: second run of the same config (every stage cache hit) / first run.
- ``bench_driver_memory``: driver peak at 10× the data / at 1× (streaming, not collecting).
- ``bench_sweep_trial``: one Tune trial of the adaptation (cached embeddings) / the embed
  stage over the rows that trial reads (what it would cost to recompute them).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fgalign.bench.core import Measurement, Timer

REPO = Path(__file__).resolve().parents[2]
FULL = REPO / "pipelines" / "full.py"

# Runs pipelines/full.py as __main__ and writes the driver's memory to a JSON file.
_DRIVER = """
import json, resource, runpy, sys
out, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
import numpy, pyarrow, torch, ray, ray.data  # noqa: E401 - libraries every run imports
import fgalign.stages, fgalign.evaluate  # noqa: E401
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
sys.argv = [script, *args]
code = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"baseline_mb": base, "peak_mb": peak, "exit": code}, open(out, "w"))
sys.exit(code)
"""


def run_full(config: str, overrides: list[str], log: Path | None = None,
             env: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``pipelines/full.py`` run in a subprocess: seconds, driver memory, exit code."""
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


def fill_embed_caches(cfg: Any, tasks: list[str], splits: list[str], cache_root: str
                      ) -> tuple[dict[str, str], float, int]:
    """Embedded-row caches ``"task/split" → path`` through the Ray graph (regions..embed).

    Returns the caches, the seconds the embed stage itself took, and the rows embedded.
    """
    from fgalign.ray.cache import StageCache, dataset_fingerprint
    from fgalign.ray.graph import run_task_graph
    from fgalign.stages import build_stage_specs, load_task_rows, prepare_task

    caches, embed_s, n = {}, 0.0, 0
    for task in tasks:
        ctx = prepare_task(cfg, task)
        specs = build_stage_specs(cfg, task, ctx)[:3]  # regions, keywords, embed
        for split in splits:
            rows = load_task_rows(cfg, task, ctx, split=split)
            fp = dataset_fingerprint(cfg.data.root, split, cfg.data.limit, task, rows)
            path, records = run_task_graph(rows, specs, task, fp, StageCache(cache_root), cfg.ray)
            caches[f"{task}/{split}"] = path
            embed_s += sum(r.seconds for r in records if r.stage == "embed")
            n += len(rows)
    return caches, embed_s, n


def bench_sweep_trial(cfg: Any, target: str, cache_root: str, storage: str) -> Measurement:
    """One Tune trial (default hyperparameters) / recomputing the embeddings it reads."""
    from ray import tune

    from fgalign.adapt import sources_of
    from fgalign.config import to_dict
    from fgalign.sweep import METRIC, train_trial

    sources = sources_of(cfg, target)
    caches, embed_s, n = fill_embed_caches(cfg, sources, [cfg.data.train_split,
                                                          cfg.data.val_split], cache_root)
    trainable = tune.with_resources(
        tune.with_parameters(train_trial, cfg_json=to_dict(cfg), target=target, caches=caches),
        {"cpu": 1})
    tuner = tune.Tuner(trainable, param_space={},
                       tune_config=tune.TuneConfig(metric=METRIC, mode="max", num_samples=1),
                       run_config=tune.RunConfig(name="bench", storage_path=storage, verbose=0))
    with Timer() as t:
        grid = tuner.fit()
    result = grid[0]
    if result.error is not None:
        raise RuntimeError(f"sweep trial failed: {result.error}")
    trial_s = float(result.metrics.get("time_total_s", t.s))
    return Measurement(
        "sweep_trial_vs_embed", "Sweep: one trial / recomputing its embeddings",
        trial_s / embed_s, "<= 0.02",
        f"trial {trial_s:.1f} s ({t.s:.1f} s with Tune start-up), {cfg.adapt.epochs} epochs max; "
        f"embed stage {embed_s:.1f} s for {n} rows of {', '.join(sources)} "
        f"({cfg.data.train_split}+{cfg.data.val_split}, model {cfg.model.name})",
        extra={"trial_s": trial_s, "tune_wall_s": t.s, "embed_s": embed_s, "rows": n})
