"""Run every benchmark in order and collect the table (``fgalign bench``).

Order matters on a small machine: the scoring roofline (no Ray) first, then the
whole-pipeline runs (each a fresh process with its own Ray cluster), then the in-process Ray
benchmarks on one local cluster. A benchmark that fails is recorded as skipped with its error,
so one broken piece never hides the others.
"""
from __future__ import annotations

import os
import shlex
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fgalign.bench.core import Measurement, Timer, format_table, machine_info, skipped


@dataclass
class BenchSizes:
    """Data sizes of one mode."""

    images: int  # world images of the embed / re-run / sweep benchmarks
    image_size: int  # world image side
    memory_small: int  # world images at 1× for the driver-memory ratio (10× = ``images``)
    embed_task: str  # task whose rows the embed benchmarks use
    embed_split: str  # ... and their split (train: the most rows)
    pipeline_tasks: list[str] = field(default_factory=list)  # tasks of whole-pipeline runs
    scoring: dict[str, int] = field(default_factory=dict)  # B, C, K, R, D of the roofline
    model: str | None = None  # backbone override (None: the config's)
    engine_images: int = 300  # world of the Ray / in-process comparison (seed 4321)
    engine_repeats: int = 3  # Ray / in-process pairs (median; ``--repeats`` overrides)


# Roofline shapes: VQA rows with the default answer vocabulary (C), keywords (K) and regions
# (R) of the config, at CLIP ViT-B width (D); cheap enough for the quick mode too.
SCORING_SHAPES = {"b": 64, "c": 100, "k": 8, "r": 8, "d": 512}
MODES = {
    "quick": BenchSizes(images=60, image_size=96, memory_small=6, embed_task="vqa",
                        embed_split="test", pipeline_tasks=["vqa"],
                        scoring=dict(SCORING_SHAPES), model="test-tiny", engine_images=30,
                        engine_repeats=1),
    "full": BenchSizes(images=1500, image_size=128, memory_small=150, embed_task="vqa",
                       embed_split="train", pipeline_tasks=["vqa", "snli_ve", "vcr"],
                       scoring=dict(SCORING_SHAPES)),
}


def _guard(results: list[Measurement], name: str, title: str, target: str,
           fn: Callable[[], Any]) -> Any:
    """Run one benchmark; its measurements go to ``results``, a failure is recorded as skipped.

    Returns what ``fn`` returned (None on failure).
    """
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - reported in the table, the run goes on
        traceback.print_exc()
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()] or [""]
        why = lines[0][:150] + (f" … {lines[-1].strip()}" if len(lines) > 1 else "")
        results.append(skipped(name, title, target, f"failed: {type(e).__name__}: {why}"))
        return None
    results.extend(m for m in (out if isinstance(out, list) else [out])
                   if isinstance(m, Measurement))
    return out


def make_world(root: Path, images: int, image_size: int, seed: int = 0) -> Path:
    """A synthetic world at ``root`` (reused when its world.json matches, format version too)."""
    import json

    from fgalign.data.synth import FORMAT_VERSION, generate_world

    meta = root / "world.json"
    if meta.is_file():
        w = json.loads(meta.read_text())
        if (w.get("images"), w.get("image_size"), w.get("seed"), w.get("format_version")) == \
                (images, image_size, seed, FORMAT_VERSION):
            return root
    generate_world(root, seed=seed, images=images, image_size=image_size, progress=False)
    return root


def bench_overrides(work: Path, world: Path, sizes: BenchSizes, name: str,
                    tasks: list[str] | None = None) -> list[str]:
    """Overrides that point a config at a bench world and a private output folder."""
    ov = [f"data.root={world}", "data.synth.generate=false", f"experiment.name={name}",
          f"experiment.output_dir={work / 'runs'}", "ray.progress=false"]
    if tasks:
        ov.append(f"data.tasks=[{', '.join(tasks)}]")
    if sizes.model:
        ov.append(f"model.name={sizes.model}")
    return ov


def run_all(config: str, overrides: list[str], mode: str, work: Path,
            only: list[str] | None = None, repeats: int | None = None,
            engine_images: int | None = None) -> tuple[list[Measurement], dict[str, Any]]:
    """Every benchmark of ``mode``; returns the measurements and the run info.

    Args:
        config: experiment config the runs start from (e.g. configs/demo.yaml).
        overrides: user ``key=value`` overrides, applied after the bench's own.
        mode: ``quick`` (smoke sizes, test-tiny) or ``full``.
        work: scratch folder (worlds, run folders, caches, logs).
        only: names of benchmark groups to run (scoring, pipeline, engine, embed, scaling,
            sweep, gpu, scale); None runs all but ``scale``, which runs only when named (it takes
            five whole-pipeline runs of its own data; ``fgalign.bench.scale``).
        repeats: Ray / in-process pairs of the engine group (None: the mode's
            ``engine_repeats``).
        engine_images: scenes of the engine group's world (None: the mode's
            ``engine_images``).
    """
    sizes = MODES[mode]
    if engine_images is not None:
        sizes = replace(sizes, engine_images=engine_images)
    want = lambda g: (only is None and g != "scale") or (only is not None and g in only)
    work.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"mode": mode, "machine": machine_info(),
                            "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    results: list[Measurement] = []
    log = work / "pipeline_runs.log"
    with Timer() as total:
        world, info["data"] = None, f"scratch {work}"
        if any(want(g) for g in ("pipeline", "embed", "scaling", "sweep", "gpu")):
            world = make_world(work / f"world{sizes.images}", sizes.images, sizes.image_size)
            info["data"] = (f"synthetic world, {sizes.images} images of {sizes.image_size} px "
                            f"(fgalign synth --seed 0); scratch {work}")
        if want("scoring"):
            from fgalign.bench.scoring import bench_scoring_roofline

            _guard(results, "scoring_roofline", "Region-word scoring / matmul rate", ">= 0.5",
                   lambda: bench_scoring_roofline(**sizes.scoring))
        if want("pipeline"):
            _pipeline_benches(results, config, overrides, sizes, work, world, log)
        if want("engine"):
            from fgalign.bench.pipeline import bench_engine

            eworld = make_world(work / f"world{sizes.engine_images}", sizes.engine_images,
                                sizes.image_size, seed=4321)
            ov = bench_overrides(work, eworld, sizes, "engine") + overrides
            _guard(results, "engine", "Engine: Ray / in process", "<= 1.2",
                   lambda: bench_engine(config, ov, work / "engine", log,
                                        repeats or sizes.engine_repeats, sizes.engine_images))
        if want("embed") or want("scaling") or want("sweep") or want("gpu"):
            _ray_benches(results, config, overrides, sizes, work, world, want)
        if want("scale"):
            from fgalign.bench.scale import bench_scale

            out = _guard(results, "scale", "Scale (issue 11)", "",
                         lambda: bench_scale(work / "scale", overrides, mode, log))
            if out is not None:  # (measurements, raw numbers of every run)
                results.extend(out[0])
                info["scale"] = out[1]
                sz = out[1]["sizes"]
                info["data"] += (f"; scale data (fgalign.bench.scale_data): 1× = "
                                 f"{sz['spec']['vqa_images']} VQA / {sz['spec']['snli_ve_images']}"
                                 f" SNLI-VE / {sz['spec']['vcr_images']} VCR images, "
                                 f"{sz['factor']}×, vocabularies {sz['vocab_small']} and "
                                 f"{sz['vocab_big']}")
    info["seconds"] = total.s
    info["load_end"] = [round(x, 2) for x in os.getloadavg()]
    return results, info


def _pipeline_benches(results, config, overrides, sizes, work, world, log) -> None:
    from fgalign.bench.pipeline import bench_driver_memory, bench_rerun

    small = make_world(work / f"world{sizes.memory_small}", sizes.memory_small, sizes.image_size)
    scale = sizes.images // sizes.memory_small
    big_ov = bench_overrides(work, world, sizes, "bench-rerun", sizes.pipeline_tasks) + overrides
    rerun = _guard(results, "rerun_vs_first", "Whole pipeline: cached re-run / first run",
                   "<= 0.1", lambda: bench_rerun(config, big_ov, log))
    first = rerun.extra["first"] if rerun else None  # the first run is the 10× memory run
    small_ov = bench_overrides(work, small, sizes, "bench-mem", sizes.pipeline_tasks) + overrides
    _guard(results, "driver_memory", f"Driver peak memory: {scale}× data / 1×", "<= 1.5",
           lambda: bench_driver_memory(config, small_ov, big_ov, scale, log, large_run=first))


def _ray_benches(results, config, overrides, sizes, work, world, want) -> None:
    import ray

    from fgalign.bench import embed as eb
    from fgalign.load import load_config
    from fgalign.ray.runtime import init_ray

    ov = bench_overrides(work, world, sizes, "bench-embed") + overrides
    cfg = load_config(config, ov)
    started = init_ray(cfg.ray)
    try:
        inp = None
        if want("embed") or want("scaling") or want("gpu"):
            inp = _guard(results, "embed_inputs", "Embed: inputs (regions + keywords stages)",
                         "", lambda: eb.prepare_embed_inputs(cfg, sizes.embed_task,
                                                             str(work / "embed-cache"),
                                                             sizes.embed_split))
        if inp is not None and want("embed"):
            _guard(results, "embed_ray_vs_loop", "Embed: Ray Data actors / in-process loop",
                   ">= 0.85", lambda: eb.bench_ray_vs_loop(inp))
        if inp is not None and want("scaling"):
            _guard(results, "embed_actor_scaling", "Embed: 2 actors / 1 actor", "",
                   lambda: eb.bench_actor_scaling(inp))
        if want("sweep"):
            from fgalign.bench.pipeline import bench_sweep_trial

            _guard(results, "sweep_trial_vs_embed", "Sweep: one trial / recomputing embeddings",
                   "<= 0.02", lambda: bench_sweep_trial(cfg, config, ov, "snli_ve",
                                                         str(work / "sweep")))
        if want("gpu"):
            _guard(results, "gpu", "GPU section", "", lambda: eb.bench_gpu(inp))
    finally:
        if started:
            ray.shutdown()


def command_line(argv: list[str]) -> str:
    """The command as typed, for BENCHMARKS.md."""
    return "fgalign bench " + shlex.join(argv)


def print_results(results: list[Measurement], info: dict[str, Any]) -> None:
    print(format_table(results))
    print(f"\n{info['mode']} mode took {info['seconds'] / 60:.1f} min on "
          f"{info['machine']['cores']} cores ({info['machine']['gpu']}); load average at start "
          f"{info['machine']['load_avg_1_5_15']}, at end {info['load_end']}")
