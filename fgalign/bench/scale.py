"""Real-scale benchmark (issue 11): cost per question at 1× and 10× data and at 100 vs 3,129 answers.

    results, info = bench_scale(Path("runs/bench-full/scale"), [], "full", log)

Data: ``fgalign.bench.scale_data`` (VQAv2 / SNLI-VE / VCR statistics, official layouts). Five
``pipelines/full.py`` runs, each a fresh process with a fresh stage cache, on the real-dataset
configs (``configs/vqav2.yaml``, ``snli_ve.yaml``, ``vcr.yaml``) with ``CPU_DEFAULTS`` (test-tiny,
the weights-free ``segment`` proposer, rule keywords, one CPU actor per stage), then the
user's ``--set`` overrides (e.g. ``model.name=ViT-B-16 model.pretrained=openai
regions.proposer=torchvision ray.stages.images.num_gpus=1 ray.stages.embed.num_gpus=1`` on a GPU box):

    vqa-small   VQA, 1×,  small vocabulary (100)      vqa-big    VQA, 1×,  3,129 answers
    vqa-big-x   VQA, 10×, 3,129 answers               snli_ve    SNLI-VE 1×    vcr   VCR 1×

Everything is measured from outside the pipeline, so it survives a restructure of its stages:
stage-cache bytes (files under the run's ``ray.cache_dir``), the driver's peak RSS
(``ru_maxrss`` of the ``pipelines/full.py`` process), wall / work time (``timings.json``:
total minus Ray start-up), and work counters (``fgalign.counters``: proposer calls with image
keys, image- and text-encoder items, model builds, per process). Ratios (targets of issue 11):

- cache bytes per question, big / small vocabulary (≤ 1.2);
- proposer calls / distinct images, image-encoder items / (distinct images + their crops) (1.0);
- driver peak RSS, 10× / 1× (≤ 1.2); questions/s, 10× / 1× (≥ 0.8);
- models built in the driver process (0);
- a projection for VQAv2 val, SNLI-VE test and VCR val on ``cluster.yaml`` (``projection``).
"""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fgalign.bench.core import Measurement
from fgalign.bench.pipeline import REPO, run_full
from fgalign.bench.scale_data import ScaleSpec, generate_scale_data
from fgalign.counters import ENV, read_events, summarize

CONFIGS = {"vqa": "configs/vqav2.yaml", "snli_ve": "configs/snli_ve.yaml", "vcr": "configs/vcr.yaml"}
SPLIT = {"vqa": "val2014", "snli_ve": "test", "vcr": "val"}
ROWS = {"vqa": "questions", "snli_ve": "pairs", "vcr": "questions"}
VOCAB_KEY = {"vqa": "tasks.vqa.answer_vocab_size"}  # the config key of a task's answer vocabulary
STAGE_RES = {"regions": 16, "images": 16, "candidates": 256, "keywords": 256, "embed": 128,
             "score": 256}  # batch sizes on CPU (every stage: the configs ask for GPUs)
CPU_DEFAULTS = ["model.name=test-tiny", "model.pretrained=null", "regions.proposer=segment",
                "regions.min_score=0",  # segment scores are area fractions, not confidences
                "keywords.extractor=rule", "ray.address=null", "logging.wandb=false",
                "ray.progress=false"] + [
    f"ray.stages.{s}={{num_cpus: 1, num_gpus: 0, concurrency: 1, batch_size: {b}}}"
    for s, b in STAGE_RES.items()]


@dataclass
class ScaleSizes:
    """Sizes of one mode: the 1× spec, the two vocabularies and the scale factor."""

    spec: ScaleSpec = field(default_factory=ScaleSpec)
    vocab_small: int = 100
    vocab_big: int = 3129
    factor: int = 10
    extra: list[str] = field(default_factory=list)  # overrides of this mode (before the user's)


SCALE_MODES = {
    "full": ScaleSizes(ScaleSpec(vqa_images=10)),  # 1×: 53 questions; 10×: 529
    "quick": ScaleSizes(ScaleSpec(vqa_images=2, snli_ve_images=1, vcr_images=2, image_size=48,
                                  train_questions=400, snli_ve_train_images=4,
                                  snli_ve_dev_images=2, vcr_train_images=4),
                        vocab_small=30, vocab_big=300, factor=10,
                        extra=["tasks.vqa.val_limit=60", "tasks.snli_ve.val_limit=30"]),
}


# ---------------------------------------------------------------- measuring one run
def parquet_float_bytes(path: Path) -> int:
    """Compressed bytes of the floating-point column chunks of one Parquet file."""
    import pyarrow.parquet as pq

    md, total = pq.ParquetFile(path).metadata, 0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c in range(rg.num_columns):
            col = rg.column(c)
            logical = str(md.schema.column(c).logical_type)
            if col.physical_type in ("FLOAT", "DOUBLE") or "Float16" in logical:
                total += col.total_compressed_size
    return total


def cache_sizes(root: Path) -> dict[str, Any]:
    """Bytes on disk under a stage-cache root: total, per stage (``<task>/<stage>-<hash>``
    folders, or the file name's first word), and the float (embedding) column bytes."""
    by_stage: dict[str, int] = defaultdict(int)
    total = floats = 0
    for f in sorted(root.rglob("*")):
        if not f.is_file():
            continue
        size = f.stat().st_size
        total += size
        rel = f.relative_to(root).parts
        by_stage[(rel[1] if len(rel) > 1 else rel[0]).split("-")[0].split(".")[0]] += size
        if f.suffix == ".parquet":
            floats += parquet_float_bytes(f)
    return {"total": total, "float_columns": floats, "by_stage": dict(by_stage)}


def _json(folder: Path, name: str) -> Any:
    hits = sorted(folder.rglob(name))
    return json.loads(hits[0].read_text()) if hits else None


def run_case(name: str, task: str, root: Path, rows: int, work: Path, overrides: list[str],
             log: Path) -> dict[str, Any]:
    """One fresh ``pipelines/full.py`` run of ``task`` on ``root``: what it cost.

    Returns:
        ``{"name", "task", "rows", "wall_s", "work_s", "peak_mb", "baseline_mb", "cache",
        "counters", "stages"}``; ``work_s`` is the pipeline's own total minus Ray start-up.
    """
    case = work / "cases" / name
    shutil.rmtree(case, ignore_errors=True)
    ov = [*overrides, f"data.root={root}", f"data.tasks=[{task}]",
          f"experiment.name=scale-{name}", f"experiment.output_dir={case / 'runs'}",
          f"ray.cache_dir={case / 'cache'}"]
    run = run_full(str(REPO / CONFIGS[task]), ov, log, env={ENV: str(case / "counters")})
    timings = _json(case / "runs", "timings.json") or {}
    stages = _json(case / "runs", "stages.json") or []
    work_s = run["seconds"]
    if "total_s" in timings:
        work_s = timings["total_s"] - timings.get("ray_init_s", 0.0)
    prepare_s = sum(t.get("prepare_s", 0.0) for t in timings.get("tasks", {}).values())
    cuda = any(str(e.get("device", "")).startswith("cuda")
               for e in read_events(case / "counters") if e["kind"] == "image_encoder")
    return {"name": name, "task": task, "rows": rows, "wall_s": run["seconds"],
            "device": "cuda" if cuda else "cpu",
            "work_s": work_s, "prepare_s": prepare_s, "peak_mb": run["peak_mb"], "baseline_mb": run["baseline_mb"],
            "pid": run.get("pid"), "cache": cache_sizes(case / "cache"),
            "counters": summarize(case / "counters", run.get("pid")),
            "stage_s": {f"{s['task']}/{s['stage']}": s["seconds"] for s in stages}}


def _kind(c: dict, kind: str, key: str = "n", table: str = "kinds") -> float:
    return c["counters"][table].get(kind, {}).get(key, 0)


# ---------------------------------------------------------------- the ratios
def image_ratios(c: dict[str, Any]) -> list[Measurement]:
    """Proposer calls / distinct images and image-encoder items / (distinct images + crops)."""
    task, p = c["task"], c["counters"]["proposer"]
    calls, distinct = _kind(c, "proposer", "calls"), p["distinct_images"]
    crops, encoded = p["regions_of_distinct"], _kind(c, "image_encoder")
    det = calls / distinct if distinct else None
    enc = encoded / (distinct + crops) if distinct else None
    where = f"{c['rows']} {task} rows ({c['name']})"
    return [
        Measurement(f"scale_proposer_calls_{task}", f"Scale: proposer calls / distinct images "
                    f"({task})", det, "<= 1.0",
                    f"{calls:.0f} calls on {distinct} distinct images (content keys); {where}; "
                    f"{_kind(c, 'proposer', 'calls', 'driver'):.0f} calls in the driver",
                    extra={"calls": calls, "distinct_images": distinct}),
        Measurement(f"scale_image_encodes_{task}", f"Scale: image-encoder items / (distinct "
                    f"images + crops) ({task})", enc, "<= 1.0",
                    f"{encoded:.0f} images + crops encoded for {distinct} images + {crops} crops; "
                    f"{_kind(c, 'image_encoder', 'n', 'driver'):.0f} in the driver; {where}",
                    extra={"encoded": encoded, "distinct_images": distinct, "crops": crops})]


def scale_ratios(small: dict, big: dict, big_x: dict, factor: int) -> list[Measurement]:
    """The vocabulary, memory and throughput ratios of the three VQA runs."""
    per_q = lambda c: c["cache"]["total"] / c["rows"]
    qps = lambda c: c["rows"] / c["work_s"]
    vs, vb = small["vocab"], big["vocab"]
    stages = ", ".join(f"{k} {v / big['rows'] / 1e3:.1f}"
                       for k, v in sorted(big["cache"]["by_stage"].items()))
    growth = lambda c: c["peak_mb"] - c["baseline_mb"]
    return [
        Measurement("scale_cache_vocab", f"Scale: cache bytes per question, {vb} / {vs} answers",
                    per_q(big) / per_q(small), "<= 1.2",
                    f"{per_q(big) / 1e3:.1f} kB vs {per_q(small) / 1e3:.1f} kB per question "
                    f"({big['rows']} questions, 1×); kB per question by stage at {vb}: {stages}",
                    extra={"big": big["cache"], "small": small["cache"], "rows": big["rows"]}),
        Measurement("scale_driver_rss", f"Scale: driver peak RSS, {factor}× / 1× ({vb} answers)",
                    big_x["peak_mb"] / big["peak_mb"], "<= 1.2",
                    f"{big['peak_mb']:.0f} MiB at 1× ({big['rows']} q), {big_x['peak_mb']:.0f} "
                    f"MiB at {factor}× ({big_x['rows']} q); growth over the imports "
                    f"{growth(big):.0f} → {growth(big_x):.0f} MiB",
                    extra={"one": big["peak_mb"], "big": big_x["peak_mb"]}),
        Measurement("scale_throughput", f"Scale: questions/s, {factor}× / 1× ({vb} answers)",
                    qps(big_x) / qps(big), ">= 0.8",
                    f"{qps(big):.2f} q/s at 1× ({big['rows']} q in {big['work_s']:.0f} s), "
                    f"{qps(big_x):.2f} q/s at {factor}× ({big_x['rows']} q in "
                    f"{big_x['work_s']:.0f} s); pipeline time without Ray start-up (wall "
                    f"{big['wall_s']:.0f} / {big_x['wall_s']:.0f} s)",
                    extra={"one": qps(big), "big": qps(big_x)})]


def driver_models(cases: list[dict]) -> Measurement:
    """Models (backbones, proposers) built inside the driver process, over all runs."""
    built = {c["name"]: _kind(c, "build", "calls", "driver") for c in cases}
    return Measurement("scale_driver_models", "Scale: models built in the driver process",
                       float(sum(built.values())), "<= 0",
                       "; ".join(f"{k} {v:.0f}" for k, v in built.items()), extra=built)


def run_cases(work: Path, overrides: list[str], mode: str, log: Path) -> dict[str, Any]:
    """Generate the data and run the five cases; also written to ``work/cases.json``."""
    sizes = SCALE_MODES[mode]
    work.mkdir(parents=True, exist_ok=True)
    ov = CPU_DEFAULTS + sizes.extra + list(overrides)
    roots = {}
    for vocab, scale in ((sizes.vocab_small, 1), (sizes.vocab_big, 1),
                         (sizes.vocab_big, sizes.factor)):
        spec = replace(sizes.spec, vocab=vocab, scale=scale)
        root = work / f"data-v{vocab}-x{scale}"
        roots[vocab, scale] = (root, generate_scale_data(root, spec))
    cases = {}
    plan = [("vqa-small", "vqa", sizes.vocab_small, 1), ("vqa-big", "vqa", sizes.vocab_big, 1),
            ("vqa-big-x", "vqa", sizes.vocab_big, sizes.factor),
            ("snli_ve", "snli_ve", sizes.vocab_big, 1), ("vcr", "vcr", sizes.vocab_big, 1)]
    for name, task, vocab, scale in plan:
        root, stats = roots[vocab, scale]
        rows = stats[task][SPLIT[task]][ROWS[task]]
        case_ov = ov + ([f"{VOCAB_KEY[task]}={vocab}"] if task in VOCAB_KEY else [])
        cases[name] = {**run_case(name, task, root, rows, work, case_ov, log), "vocab": vocab,
                       "scale": scale, "images": stats[task][SPLIT[task]]["images"]}
    out = {"cases": cases, "overrides": ov, "factor": sizes.factor,
           "sizes": {"spec": sizes.spec.__dict__, "vocab_small": sizes.vocab_small,
                     "vocab_big": sizes.vocab_big, "factor": sizes.factor}}
    (work / "cases.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def measure(run: dict[str, Any]) -> tuple[list[Measurement], dict[str, Any]]:
    """The ratios and projection rows of ``run_cases``' output, and the projection's
    assumptions (lines of text)."""
    from fgalign.bench.projection import project_all

    cases = run["cases"]
    results = scale_ratios(cases["vqa-small"], cases["vqa-big"], cases["vqa-big-x"],
                           run["factor"])
    for name in ("vqa-big-x", "snli_ve", "vcr"):
        results += image_ratios(cases[name])
    results.append(driver_models(list(cases.values())))
    proj, assumptions = project_all({"vqa": cases["vqa-big-x"], "snli_ve": cases["snli_ve"],
                                     "vcr": cases["vcr"]}, REPO / "cluster.yaml",
                                    run["overrides"])
    return results + proj, {"assumptions": assumptions}


def bench_scale(work: Path, overrides: list[str], mode: str, log: Path
                ) -> tuple[list[Measurement], dict[str, Any]]:
    """Everything: ``run_cases`` then ``measure``; returns the rows and the raw numbers."""
    run = run_cases(work, overrides, mode, log)
    results, info = measure(run)
    return results, {**run, **info}
