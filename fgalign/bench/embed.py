"""CLIP stage benchmarks: Ray Data actors vs a bare loop, actor scaling, encoder calls, GPU.

All of them run the pipeline's own ``images`` stage (``ImageEmbedder``: the whole image and
its region crops through CLIP's image encoder, once per distinct image) on the same input:
the ``regions`` stage is run once first, through the real Ray graph, into its image store;
both sides then start from those records.

- ``bench_ray_vs_loop``: ``apply_stage`` (the stage alone as an actor pool) vs the stage
  called on the same batches in this process, same model, batch size and threads. Both
  include building the model; the Ray side also starts its actor process.
- ``bench_actor_scaling``: 1 vs 2 actors (one thread each), and 1 actor with 2 threads.
- ``image_encodes``: images the image encoder saw / (distinct images + their crops): 1.0
  when every image and crop is encoded exactly once.
- ``bench_gpu``: fp16 images/s and actors per GPU, only where CUDA is present.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from fgalign.bench.core import Measurement, Timer, skipped
from fgalign.config import Config

MIN_STEADY_S = 2.0  # loop seconds after the first batch needed for a steady-state ratio


@dataclasses.dataclass
class EmbedInputs:
    """The embed stage's spec and its input: the keywords-stage cache of one task."""

    task: str
    spec: Any  # fgalign.experiment.plan.StageSpec of the images stage
    path: list[str]  # Parquet directories of the regions stage output (one row per image)
    rows: int  # distinct images (the stage's rows)
    images: int  # distinct images among the task rows

    def with_resources(self, **changes: Any) -> Any:
        """The embed spec with some resources (and the model's threads) changed."""
        res = self.spec.resources.model_copy(update=changes)
        kwargs = dict(self.spec.kwargs)
        kwargs["model"] = {**kwargs["model"], "num_threads": max(1, int(res.num_cpus))}
        return dataclasses.replace(self.spec, resources=res, kwargs=kwargs)


def prepare_embed_inputs(cfg: Config, task: str, cache_root: str, split: str | None = None
                         ) -> EmbedInputs:
    """Run the regions stage of ``task``'s images through the Ray graph (untimed).

    ``split`` defaults to ``cfg.data.split``; the train split gives more images to measure.
    """
    from fgalign.experiment.plan import (
        build_image_specs,
        load_task_rows,
        make_runner,
        prepare_task,
    )
    from fgalign.ray.executor import RayExecutor

    cfg = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"cache_dir": cache_root})})
    runner = make_runner(cfg, RayExecutor(cfg.ray))
    ctx = prepare_task(cfg, task, calibrate=False)
    split = split or cfg.data.split
    rows = load_task_rows(cfg, task, ctx, split=split)
    runner.run_images(task, split, rows)
    spec = build_image_specs(cfg, task, runner.tables(task))[1]
    shards = runner.region_shards(task)
    n = sum(runner.cache.rows(s) or 0 for s in shards)
    images = len({r["image_key"] for r in rows if not r.get("error")})
    return EmbedInputs(task, spec, shards, n, images)


def load_batches(inp: EmbedInputs, batch_size: int) -> list[dict[str, np.ndarray]]:
    """The cached rows as the numpy batches Ray Data would hand the stage."""
    import ray.data

    ds = ray.data.read_parquet(inp.path)
    return list(ds.iter_batches(batch_size=batch_size, batch_format="numpy"))


def time_loop(spec: Any, batches: list[dict[str, np.ndarray]]) -> tuple[float, float, Any]:
    """(total s, s until the first batch is done, stage): build the stage, run every batch."""
    threads = torch.get_num_threads()
    try:
        with Timer() as t:
            stage = spec.cls(**spec.kwargs)
            stage(batches[0])
            t_first = t.elapsed()
            for b in batches[1:]:
                stage(b)
    finally:
        torch.set_num_threads(threads)  # the stage sets the process-wide thread count
    return t.s, t_first, stage


def time_ray(inp: EmbedInputs, spec: Any) -> tuple[float, float, int]:
    """(total s, s until the first output batch, its rows) for a fresh actor pool.

    The input is read and split into blocks of one batch before the clock starts, so the
    time is the stage's: actor start-up, model build, batches, streaming the results back.
    """
    import ray.data

    from fgalign.ray.actors import apply_stage

    bs = spec.resources.batch_size
    ds = ray.data.read_parquet(inp.path).repartition(max(1, -(-inp.rows // bs))).materialize()
    n, first, n_first = 0, 0.0, 0
    with Timer() as t:
        for batch in apply_stage(ds, spec, max_restarts=0).iter_batches(batch_size=None):
            n += len(batch["error"])
            if not n_first:
                first, n_first = t.elapsed(), n
    if n != inp.rows:
        raise RuntimeError(f"embed under Ray: {inp.rows} rows in, {n} out")
    return t.s, first, n_first


def bench_ray_vs_loop(inp: EmbedInputs, threads: int = 1) -> list[Measurement]:
    """Ray Data actor pool (1 actor) vs bare loop, same spec, batches and threads.

    Two ratios: steady state (rows/s after the first output batch: Ray's per-batch overhead)
    and end to end (what a run pays, actor start-up included).
    """
    spec = inp.with_resources(num_cpus=float(threads), concurrency=1)
    bs = spec.resources.batch_size
    batches = load_batches(inp, bs)
    t_loop, t_loop_first, stage = time_loop(spec, batches)
    t_ray, t_ray_first, n_first = time_ray(inp, spec)
    rest_loop, rest_ray = inp.rows - len(batches[0]["error"]), inp.rows - n_first
    steady, why = None, ""
    if t_loop - t_loop_first < MIN_STEADY_S or rest_ray <= 0:
        why = (f"too little work after the first batch for a steady-state rate (loop "
               f"{t_loop - t_loop_first:.1f} s < {MIN_STEADY_S} s): use more rows")
    else:
        steady = (rest_ray / (t_ray - t_ray_first)) / (rest_loop / (t_loop - t_loop_first))
    setup = (f"{inp.rows} distinct {inp.task} images, batch {bs}, {threads} thread(s), model "
             f"{spec.kwargs['model']['name']}")
    extra = {"t_ray_s": t_ray, "t_loop_s": t_loop, "t_ray_first_batch_s": t_ray_first,
             "t_loop_first_batch_s": t_loop_first, "rows": inp.rows, "threads": threads,
             "batch_size": bs}
    return [
        Measurement("embed_ray_vs_loop", "Images stage: Ray Data actors / in-process loop (steady)",
                    steady, ">= 0.85",
                    f"after the first batch: Ray {rest_ray / max(t_ray - t_ray_first, 1e-9):.1f} "
                    f"rows/s, loop {rest_loop / max(t_loop - t_loop_first, 1e-9):.1f} rows/s; "
                    f"{setup}" if steady is not None else setup,
                    note=why,
                    extra=extra),
        Measurement("embed_ray_vs_loop_e2e", "Images stage: Ray Data actors / loop (end to end)",
                    t_loop / t_ray, "",
                    f"Ray {t_ray:.1f} s (first batch out at {t_ray_first:.1f} s: actor start-up "
                    f"+ model), loop {t_loop:.1f} s (first batch {t_loop_first:.1f} s); {setup}",
                    extra=extra),
        image_encodes(inp, stage, batches)]


def image_encodes(inp: EmbedInputs, stage: Any, batches: list[dict[str, np.ndarray]]
                  ) -> Measurement:
    """Images through the image encoder / (distinct images + crops), on a fresh stage."""
    fresh = type(stage)(**inp.spec.kwargs)
    seen = {"images": 0}
    enc_i = fresh.backbone.encode_images

    def count_images(images, *a, **k):
        seen["images"] += len(images)
        return enc_i(images, *a, **k)

    fresh.backbone.encode_images = count_images
    needed = 0
    for b in batches:
        out = fresh(b)
        needed += sum(1 + len(np.asarray(bx).reshape(-1, 4)) for bx, err
                      in zip(out["boxes"], out["error"]) if not err)
    return Measurement(
        "image_encodes", f"Image encoder calls / (distinct images + crops) ({inp.task})",
        seen["images"] / max(needed, 1), "1.0",
        f"{seen['images']} images encoded for {needed} distinct images + crops "
        f"({inp.rows} distinct images)",
        extra={"encoded": seen["images"], "needed": needed, "distinct_images": inp.rows})


def bench_actor_scaling(inp: EmbedInputs) -> Measurement:
    """Throughput of 2 actors × 1 thread over 1 actor × 1 thread (and 1 actor × 2 threads)."""
    t1 = time_ray(inp, inp.with_resources(num_cpus=1.0, concurrency=1))[0]
    t2 = time_ray(inp, inp.with_resources(num_cpus=1.0, concurrency=2))[0]
    t1x2 = time_ray(inp, inp.with_resources(num_cpus=2.0, concurrency=1))[0]
    r = lambda t: inp.rows / t
    return Measurement(
        "embed_actor_scaling", "Embed: 2 actors / 1 actor (1 thread each)", t1 / t2, "",
        f"1 actor {r(t1):.1f} rows/s, 2 actors {r(t2):.1f} rows/s, 1 actor × 2 threads "
        f"{r(t1x2):.1f} rows/s; {inp.rows} rows",
        extra={"t_1x1_s": t1, "t_2x1_s": t2, "t_1x2_s": t1x2, "rows": inp.rows})


def bench_gpu(inp: EmbedInputs | None, images: int = 2048) -> list[Measurement]:
    """fp16 image embedding throughput and 1 vs 2 actors per GPU; skipped without CUDA."""
    if not torch.cuda.is_available():
        return [skipped("gpu_fp16", "GPU: fp16 / fp32 embedding images/s", "", "no GPU")]
    from PIL import Image

    from fgalign.models import create_backbone

    model = dict(inp.spec.kwargs["model"]) if inp else {"name": "shapes-tiny"}
    rng = np.random.default_rng(0)
    pils = [Image.fromarray(rng.integers(0, 255, (128, 128, 3), np.uint8)) for _ in range(64)]
    out = []
    rates = {}
    for precision in ("fp32", "fp16"):
        bb = create_backbone(model["name"], pretrained=model.get("pretrained"),
                             checkpoint=model.get("checkpoint"), device="cuda",
                             precision=precision)
        x = bb.preprocess_images(pils).repeat(images // len(pils), 1, 1, 1)  # (N, 3, S, S)
        bb.encode_images(x[:256], batch_size=256)  # warm-up
        torch.cuda.synchronize()
        with Timer() as t:
            bb.encode_images(x, batch_size=256)
            torch.cuda.synchronize()
        rates[precision] = len(x) / t.s
    out.append(Measurement("gpu_fp16", "GPU: fp16 / fp32 embedding images/s",
                           rates["fp16"] / rates["fp32"], "",
                           f"fp16 {rates['fp16']:.0f} img/s, fp32 {rates['fp32']:.0f} img/s "
                           f"(preprocessed tensors, batch 256, {torch.cuda.get_device_name(0)})",
                           extra=rates))
    if inp is not None:
        t1 = time_ray(inp, inp.with_resources(num_gpus=1.0, concurrency=1))[0]
        t2 = time_ray(inp, inp.with_resources(num_gpus=0.5, concurrency=2))[0]
        out.append(Measurement("gpu_actors", "GPU: 2 actors / 1 actor per GPU", t1 / t2, "",
                               f"1 actor {inp.rows / t1:.1f} rows/s, 2 actors (0.5 GPU each) "
                               f"{inp.rows / t2:.1f} rows/s, end to end with CPU image decoding",
                               extra={"t_1_s": t1, "t_2_s": t2}))
    return out
