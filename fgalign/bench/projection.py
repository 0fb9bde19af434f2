"""Project measured per-item costs of the scale benchmark to the real datasets on ``cluster.yaml``.

    rows, assumptions = project_all({"vqa": case_10x, "snli_ve": ..., "vcr": ...}, "cluster.yaml",
                                    ov, small={"vqa": case_1x, ...})

Model of one run (two Ray Data executions, each may use the whole cluster):

    hours    = images GPU s + max(text GPU s, CPU s) + driver s + once s + start-up s
    images   = proposer calls × t_det + image-encoder items × t_img, divided by the GPU
               workers (the first execution: regions → images, GPU pools)
    text     = text items × t_txt, divided by the GPU workers (the second execution: its GPU
               pool, embed, streams at the same time as its CPU pools: the overlap)
    start-up = the run's executions' wall minus their stages' seconds (``timings.json``
               ``execution_timeline``: pool start-up — actor processes, imports, models —
               scheduling and commits), once per run
    CPU s    = (stage seconds − model seconds inside the actors) per row × rows, divided by
               the workers' vCPUs (keywords, scoring, image decoding, Parquet I/O); per row:
               the slope between the two sizes when there are two, else the mean
    driver s = a + b × rows: the driver's time outside the executions (``timings.json``
               total, less Ray's start, less the executions' span) at two sizes of the same
               task, b the slope per row and a the intercept (reading, planning, imports,
               figures: once per run). Each task's preparation and finalize run beside the
               executions (``fgalign.experiment.steps``), so only what they leave outside the
               span is in it. With one size only, b = that time / its rows and a = 0: an
               upper bound, said so in the row
    once s   = the other input sets' stage seconds (calibration, answer prompts), once per run
    bytes    = the evaluated rows' stage-cache bytes per row × rows + the fixed shares once
               (answer prompts, task context, calibration sets: ``scale.cache_split``), the
               embedding tables' values scaled from the measured backbone width to the
               projected one (without a split: Parquet float columns scaled, as before the
               data plane moved embeddings out of the row caches)

``serial`` (in ``extra``) is the same run with no overlap: every GPU and CPU second one after
the other. Counts scale as measured: proposer calls per distinct image × images, image-encoder items
per (distinct image + crop) × images × (1 + crops per image), texts per row × rows. Per-item
GPU times come from ``ANCHORS`` (public throughput figures) unless the runs were measured on
CUDA, in which case the measured seconds are used. Every assumption is returned as text.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from fgalign.bench.core import Measurement

# Real evaluation splits: rows (questions / pairs) and distinct images.
DATASETS = {"vqa": ("VQAv2 val2014", 214_354, 40_504),
            "snli_ve": ("SNLI-VE test", 17_901, 1_000),
            "vcr": ("VCR val", 26_534, 9_929)}
# Per-GPU-worker throughputs (items/s) for the configs' models (ViT-B-32 + detectron2).
ANCHORS = {
    "detector": (26.0, ("detectron2 model zoo, Faster R-CNN R50-FPN 3x: 0.038 s/image on a V100 "
                       "(A10G taken as equal)")),
    "image": (1500.0, ("ViT-B/32: ~1500 img/s on one RTX 3080 (clip-retrieval), but PIL "
                      "preprocessing ~137 img/s per core (PREPROCESS_PER_VCPU) × the vCPUs per "
                      "GPU worker binds first (8 on a g5.2xlarge: 1096 img/s; RAY_NOTES.md)")),
    "text": (2220.0, ("ViT-B/32 text tower 5.96 vs 8.82 GFLOPs/image: 1500 × 8.82 / 5.96 texts/s "
                     "(tokenizer ~9k texts/s per core does not bind)")),
}
PREPROCESS_PER_VCPU = 137.0  # PIL decode + resize + normalise, images/s per core (RAY_NOTES.md)
# 8 × H100 (AWS p5.48xlarge: 8 H100 SXM, 192 vCPU), the second projected cluster. Its GPU
# time uses the same per-GPU anchors (A10G-class figures): an upper bound for an H100 (NVIDIA's
# NeMo CLIP benchmarks report 1.7× an A100's throughput per node, DGX H100 vs DGX A100);
# the image encoder is bound by preprocessing on its 24 vCPU per GPU.
H100_NODE = {"node_type": "p5.48xlarge", "workers": 1, "gpus": 8, "cpus": 192,
             "instance": "p5.48xlarge", "gpu": "H100"}
INSTANCE_GPU = {"g5": "A10G", "g4dn": "T4", "p3": "V100", "p4d": "A100", "p5": "H100",
                "g6": "L4"}
TARGET_DIM = 512  # ViT-B-32 / ViT-B-16 joint embedding width (configs/*.yaml)


def read_cluster(path: str | Path) -> dict[str, Any]:
    """GPU workers of a Ray cluster-launcher YAML: count, GPUs and vCPUs each, instance type."""
    cfg = yaml.safe_load(Path(path).read_text())
    cap = int(cfg.get("max_workers", 0) or 0)
    for name, node in (cfg.get("available_node_types") or {}).items():
        res = node.get("resources") or {}
        if res.get("GPU", 0) > 0:
            n = min(int(node.get("max_workers", 0)), cap) if cap else int(node.get("max_workers", 0))
            itype = str((node.get("node_config") or {}).get("InstanceType", "?"))
            return {"node_type": name, "workers": n, "gpus": n * int(res["GPU"]),
                    "cpus": n * int(res.get("CPU", 0)), "instance": itype,
                    "gpu": INSTANCE_GPU.get(itype.split(".")[0], "GPU")}
    raise ValueError(f"{path}: no node type with GPU resources")


def embed_dim(overrides: list[str]) -> int:
    """Joint embedding width of the backbone named by the last ``model.name=`` override."""
    name = next((o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("model.name=")),
                "test-tiny")
    import open_clip

    cfg = open_clip.get_model_config(name)
    if cfg:
        return int(cfg["embed_dim"])
    from fgalign.models import create_backbone

    return int(create_backbone(name).embed_dim)


def _k(c: dict, kind: str, key: str, table: str = "kinds") -> float:
    return float(c["counters"][table].get(kind, {}).get(key, 0))


def _outside(c: dict) -> float:
    """Seconds of a run's driver outside its executions: ``work_s`` (total less Ray's start)
    less the span of the executions (``exec_s``; stage seconds and start-up for an older
    run without a timeline)."""
    inside = c.get("exec_s", sum(c["stage_s"].values())
                   + sum(c.get("fixed_stage_s", {}).values()) + float(c.get("startup_s", 0.0)))
    return max(float(c["work_s"]) - inside, 0.0)


def _cpu_work(c: dict) -> float:
    """Stage seconds of the evaluated rows and the image prefetch, less the model seconds
    inside the actors: the CPU stages' work (keywords, scoring, decoding, I/O)."""
    model_s = sum(_k(c, k, "seconds") - _k(c, k, "seconds", "driver")
                  for k in ("proposer", "image_encoder", "text_encoder"))
    return max(sum(c["stage_s"].values()) - model_s, 0.0)


def linear(small: dict | None, big: dict, value) -> tuple[float, float, bool]:
    """``(a, b, fitted)``: ``value(case) = a + b × rows`` through two sizes of one task.

    With ``small`` (fewer rows, same task and config): the line through both points, always
    through the larger, measured one. A slope at or below 0 (noise on a flat cost) gives
    ``b = 0, a = value(big)``; an intercept below 0 (a cost that grows faster than the rows)
    gives the line through 0 and the larger point, ``a = 0``. Without ``small``, or with one
    that is not smaller: ``b = value(big) / rows``, ``a = 0``, every second counted per row,
    an upper bound on the per-row cost (``fitted`` False). A run of 0 rows: all of it once.

    Raises:
        ValueError: a measured value that is not a finite number.
    """
    vb, nb = float(value(big)), int(big["rows"])
    vs = None if small is None else float(value(small))
    if not math.isfinite(vb) or (vs is not None and not math.isfinite(vs)):
        raise ValueError(f"not a finite measurement: {vs} ({small and small.get('name')}), "
                         f"{vb} ({big.get('name')})")
    if nb <= 0:
        return vb, 0.0, False
    if vs is None or int(small["rows"]) >= nb:
        return 0.0, vb / nb, False
    slope = (vb - vs) / (nb - int(small["rows"]))
    if slope <= 0:
        return vb, 0.0, True
    if vb - slope * nb < 0:
        return 0.0, vb / nb, True
    return vb - slope * nb, slope, True


def project(task: str, c: dict[str, Any], cluster: dict[str, Any], dim: int,
            small: dict[str, Any] | None = None) -> Measurement:
    """Hours and cache bytes of the real ``task`` split from one measured case ``c``, and the
    same task at a smaller size ``small`` (per-row and once-per-run costs apart: ``linear``)."""
    label, rows, images = DATASETS[task]
    p = c["counters"]["proposer"]
    distinct, crops = max(p["distinct_images"], 1), p["regions_of_distinct"]
    on_gpu = c.get("device", "cpu").startswith("cuda")
    per = {"detector": (_k(c, "proposer", "calls") / distinct * images,
                        _k(c, "proposer", "seconds") / max(_k(c, "proposer", "calls"), 1)),
           "image": (_k(c, "image_encoder", "n") / (distinct + crops)
                     * images * (1 + crops / distinct),
                     _k(c, "image_encoder", "seconds") / max(_k(c, "image_encoder", "n"), 1)),
           "text": (_k(c, "text_encoder", "n") / c["rows"] * rows,
                    _k(c, "text_encoder", "seconds") / max(_k(c, "text_encoder", "n"), 1))}
    vcpu_per_gpu = cluster["cpus"] / max(cluster["gpus"], 1)
    rate = {k: ANCHORS[k][0] for k in per}
    rate["image"] = min(rate["image"], PREPROCESS_PER_VCPU * vcpu_per_gpu)
    secs = {k: n * (t if on_gpu else 1.0 / rate[k]) / max(cluster["gpus"], 1)
            for k, (n, t) in per.items()}
    gpu_s = sum(secs.values())
    cpu_a, cpu_b, _ = linear(small, c, _cpu_work)
    cpu_s = (cpu_a + cpu_b * rows) / max(cluster["cpus"], 1)
    once_s = sum(c.get("fixed_stage_s", {}).values())  # calibration, answer prompts: once
    startup_s = float(c.get("startup_s", 0.0))  # the executions' fixed cost: once per run
    drv_a, drv_b, fitted = linear(small, c, _outside)
    driver_s = drv_a + drv_b * rows
    how = (f"driver {drv_b * 1e3:.2f} ms per row + {drv_a:.0f} s once (fitted on "
           f"{small['name']}: {small['rows']} and {c['name']}: {c['rows']} rows)" if fitted else
           f"driver {drv_b * 1e3:.2f} ms per row, an upper bound (one size measured: every "
           f"second outside the executions counted per row)")
    cache = c["cache"]
    scale_dim = dim and TARGET_DIM / dim
    split = cache.get("split")
    if split:  # the questions' share per row, the fixed shares once (``scale.cache_split``)
        wide = lambda s: s["bytes"] + s["embedding"] * (scale_dim - 1)
        fixed = sum(wide(s) for s in split["fixed"].values())
        per_row = (wide(split["question"]) * rows / c["rows"] + fixed) / rows
    else:
        per_row = (cache["total"] - cache["float_columns"]
                   + cache["float_columns"] * scale_dim) / c["rows"]
    serial = (gpu_s + cpu_s + driver_s + once_s + startup_s) / 3600
    hours = (secs["detector"] + secs["image"] + max(secs["text"], cpu_s) + driver_s + once_s
             + startup_s) / 3600
    return Measurement(
        f"scale_projection_{task}", f"Projection: {label} on {cluster['gpus']}× "
        f"{cluster['gpu']} ({cluster['instance']}), hours", hours, "",
        f"{rows:,} rows, {images:,} images: cache {per_row * rows / 1e9:.1f} GB; GPU "
        f"{gpu_s / 3600:.2f} h (detector {per['detector'][0]:,.0f} calls, image encoder "
        f"{per['image'][0]:,.0f} items, text encoder {per['text'][0]:,.0f} texts); CPU "
        f"{cpu_s / 3600:.2f} h on {cluster['cpus']} vCPU (the text encoder's GPU time "
        f"overlaps it); driver {driver_s / 3600:.2f} h ({how}); other sets' stages {once_s:.0f} s "
        f"once; pool start-up {startup_s:.0f} s; {serial:.2f} h without overlap",
        extra={"hours": hours, "serial_hours": serial, "gpu_s": gpu_s, "cpu_s": cpu_s,
               "driver_s": driver_s, "driver_per_row_s": drv_b, "driver_once_s": drv_a,
               "driver_fitted": fitted, "once_s": once_s, "startup_s": startup_s,
               "cache_bytes": per_row * rows, "items": {k: n for k, (n, _) in per.items()},
               "gpu_times": "measured" if on_gpu else "anchors"})


def project_all(cases: dict[str, dict], cluster_yaml: str | Path, overrides: list[str],
                small: dict[str, dict] | None = None) -> tuple[list[Measurement], list[str]]:
    """One projection row per task, and the assumptions behind them (text lines).

    ``cases``: the measured run of each task; ``small``: a smaller run of the same task and
    config where there is one (``linear``: per-row and once-per-run costs apart)."""
    small = small or {}
    cluster = read_cluster(cluster_yaml)
    dim = embed_dim(overrides)
    rows = [project(t, c, cluster, dim, small.get(t)) for t, c in cases.items()]
    if "vqa" in cases:  # VQAv2 val on 8 × H100 (one p5.48xlarge)
        h100 = project("vqa", cases["vqa"], H100_NODE, dim, small.get("vqa"))
        h100.name += "_8xh100"
        rows.append(h100)
    anchors = "anchors" if rows and rows[0].extra["gpu_times"] == "anchors" else "measured"
    notes = [
        (f"cluster.yaml: {cluster['workers']} × {cluster['node_type']} ({cluster['instance']}, "
        f"1 {cluster['gpu']} + {cluster['cpus'] // max(cluster['workers'], 1)} vCPU each); head "
        f"node runs the driver"),
        f"GPU per-item times: {anchors}" + (" (measured here on CPU with a tiny model, so "
                                            "replaced by public throughput figures):" if
                                            anchors == "anchors" else ""),
        *[f"  {k}: {v:g} items/s per GPU worker — {src}" for k, (v, src) in ANCHORS.items()],
        ("overlap: the images execution (detector, image encoder) runs before the rows "
         "execution, whose GPU pool (text encoder) streams at the same time as its CPU pools; "
         "the executions' fixed cost (their wall minus their stages' seconds: pool start-up, "
         "scheduling, commits) is paid once per run, as measured here (on 2 busy CPU cores: "
         "larger than on the cluster's nodes)"),
        ("8 × H100 (p5.48xlarge, 192 vCPU): the same per-GPU anchors (an upper bound on an "
         "H100's GPU time; NVIDIA NeMo's CLIP benchmark gives DGX H100 1.7× DGX A100), image "
         "preprocessing on 24 vCPU per GPU; the driver is the head node's, as on cluster.yaml"),
        ("item counts: calls per distinct image / per (image + crop) / texts per row as "
        "measured in the runs, times the real split's images and rows; crops per image as "
        "measured (the synthetic scenes have 2–6 objects; a detector with max_regions 16 "
        "may give more)"),
        ("CPU stages (keywords, scoring, decoding, I/O): measured CPU seconds per row here "
        "(below), divided by the workers' vCPUs (perfect scaling assumed)"),
        ("CPU and driver time split by stages.json: the evaluated split's stages and the image "
        "prefetch (every set's images) per row, the other input sets' stage runs (calibration, "
        "answer prompts) once, as measured, added without overlap"),
        ("per row and once per run apart: where a task ran at two sizes (1× and 10×, same "
        "config), the CPU stages' seconds and the driver's seconds outside the executions are "
        "each a line through both runs (slope: per row; intercept: once per run); where it ran "
        "at one size, all of it is counted per row (an upper bound, said in its row)"),
        ("driver: the seconds outside the executions (reading, planning, what each task's "
        "preparation and finalize leave after the last set is scored: they run beside the "
        "executions); the preparation reads the fitting splits as generated here (6,258 VQA "
        "train questions); with VQAv2's 443,757 train questions and real models it takes "
        "longer: not projected"),
        (f"cache bytes: the evaluated rows' share per row × rows, plus the fixed shares (answer "
        f"prompts, task context, calibration sets) once; the embedding tables' values scaled "
        f"by {TARGET_DIM}/{dim} (embedding width of the configs' ViT-B vs the measured model),"
        f" other bytes (row caches: scores, texts; image stores: boxes) as measured"),
    ]
    return rows, notes
