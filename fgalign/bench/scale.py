"""Real-scale benchmark (issue 11): cost per question at 1× and 10× data and at 100 vs 3,129 answers.

    results, info = bench_scale(Path("runs/bench-full/scale"), [], "full", log)

Data: ``fgalign.bench.scale_data`` (VQAv2 / SNLI-VE / VCR statistics, official layouts). Five
to eight ``pipelines/full.py`` runs, each a fresh process with a fresh stage cache, on the
real-dataset configs (``configs/vqav2.yaml``, ``snli_ve.yaml``, ``vcr.yaml``) with
``CPU_DEFAULTS`` (test-tiny, the weights-free ``segment`` proposer, rule keywords, one CPU actor
per stage), then the user's ``--set`` overrides (e.g. ``model.name=ViT-B-16
model.pretrained=openai regions.proposer=torchvision ray.stages.images.num_gpus=1
ray.stages.embed.num_gpus=1`` on a GPU box):

    vqa-small   VQA, small vocabulary (100)  }  the vocabulary pair: at ``pair_scale`` and a
    vqa-big-k   VQA, 3,129 answers           }  candidate bound ``k_bound`` (full mode: 10×,
                                                 k = 3, no oracle answer; quick: 1×, the
                                                 config's k, and vqa-big stands in for vqa-big-k)
    vqa-big     VQA, 1×,  3,129 answers, the config's k (128)
    vqa-big-x   VQA, 10×, 3,129 answers, the config's k
    snli_ve     SNLI-VE 1×                   vcr   VCR 1×
    snli_ve-x   SNLI-VE 10×                  vcr-x VCR 10×   (full mode: the projection's
                                                 second size, per row vs once per run)

Everything is measured from outside the pipeline, so it survives a restructure of its stages:
stage-cache bytes (files under the run's ``ray.cache_dir``, split by ``cache_split`` into the
evaluated questions' share and fixed shares: answer prompts, task context, calibration sets),
the driver's peak RSS (``ru_maxrss`` of the ``pipelines/full.py`` process), wall / work time
(``timings.json``: total minus Ray start-up), and work counters (``fgalign.counters``: proposer
calls with image keys, image- and text-encoder items, model builds, per process). Ratios
(targets of issue 11):

- the questions' stage-cache bytes per question, big / small vocabulary, at a candidate bound
  that binds at both sizes (≤ 1.2); the fixed shares reported and amortised over VQAv2 val;
- stage-cache kB per question at the config's k and 3,129 answers, ViT-B width (reported);
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

import numpy as np

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
    f"ray.stages.{s}={{num_cpus: 0.25, num_gpus: 0, concurrency: 1, batch_size: {b}}}"
    for s, b in STAGE_RES.items()]


@dataclass
class ScaleSizes:
    """Sizes of one mode: the 1× spec, the two vocabularies and the scale factor."""

    spec: ScaleSpec = field(default_factory=ScaleSpec)
    vocab_small: int = 100
    vocab_big: int = 3129
    factor: int = 10
    extra: list[str] = field(default_factory=list)  # overrides of this mode (before the user's)
    k_bound: int | None = None  # candidate bound of the vocabulary pair (None: the config's k)
    pair_scale: int = 1  # data scale of the vocabulary pair
    task_pairs: bool = True  # SNLI-VE and VCR at ``factor`` too (projection: per row vs once)


SCALE_MODES = {
    # 1×: 106 questions; 10×: 1,058. The vocabulary pair runs at 10× with k = 3 and no oracle
    # answer: with 100 answers the smallest type pools hold 2 (yes/no) and 3 (number) answers,
    # so k = 3 is the largest bound that gives every question the same number of candidates
    # at both sizes (``_binding`` checks it per question).
    "full": ScaleSizes(ScaleSpec(vqa_images=20), k_bound=3, pair_scale=10),
    "quick": ScaleSizes(ScaleSpec(vqa_images=2, snli_ve_images=1, vcr_images=2, image_size=48,
                                  train_questions=400, snli_ve_train_images=4,
                                  snli_ve_dev_images=2, vcr_train_images=4),
                        vocab_small=30, vocab_big=300, factor=10,
                        extra=["tasks.vqa.val_limit=60", "tasks.snli_ve.val_limit=30"],
                        task_pairs=False),
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


CONTEXT = "task context"  # name of the fixed share held by ``<task>/prepare-*.json``
REGION_ROWS = 257  # image-table rows looked up per image key: the image and up to 256 crops


def _set_of(folder: Path) -> str | None:
    """The input set (``split`` of ``_SUCCESS``) a stage-cache folder holds, or None."""
    try:
        return str(json.loads((folder / "_SUCCESS").read_text())["split"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _owner(f: Path, root: Path) -> str | None:
    """The input set of the nearest folder above ``f`` (inside ``root``) that has a ``_SUCCESS``."""
    d = f.parent
    while d != root and root in d.parents:
        if (d / "_SUCCESS").is_file():
            return _set_of(d)
        d = d.parent
    return None


def parquet_strings(files: list[Path], columns: set[str] | None = None) -> set[str]:
    """Every string value in the (possibly nested-list) string columns of Parquet files.

    Args:
        files: Parquet files.
        columns: only these top-level columns (None: all).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out: set[str] = set()
    for f in files:
        t = pq.read_table(f)
        for name, col in zip(t.column_names, t.columns):
            if columns is not None and name not in columns:
                continue
            while pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                col = pc.list_flatten(col)
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                out.update(v for v in col.to_pylist() if v is not None)
    return out


def _table_keys(kind: str, files: list[Path]) -> set[int]:
    """Keys a set's rows refer to in a ``text`` or ``image`` table (``fgalign.engine.store`` keys)."""
    from fgalign.engine.store import region_key, text_key

    if kind == "image":
        return {region_key(k, j) for k in parquet_strings(files, {"image_key"})
                for j in range(REGION_ROWS)}
    return {text_key(s) for s in parquet_strings(files)}


def cache_split(root: Path, evaluated: str) -> dict[str, Any]:
    """Stage-cache bytes under ``root`` split into the evaluated questions' share and fixed shares.

    Shares (each ``{"bytes", "embedding", "by_stage"}``; ``embedding``: the embedding tables'
    fp16 values, the only bytes that scale with the embedding width — no row cache holds an
    embedding; their float columns are scores and boxes):

    - ``question``: folders whose ``_SUCCESS`` names the ``evaluated`` split (row caches and the
      image stores of its images), its share of the tables, and every file no rule below
      claims (unknown files count against the questions);
    - ``fixed[<set>]``: folders of every other input set — the VQA answer prompts
      (``answer-prompts``), calibration subsets (``train2014:yes-no``, ...) — and their share
      of the tables; ``fixed["task context"]``: ``<task>/prepare-*.json`` (answer vocabulary,
      prefix counts: per vocabulary and train split, not per question).

    Shared stores are attributed by the rows that refer to them: table records
    (``tables/<kind>-<hash>/<shard>/``, content-addressed, one record per distinct text or
    image row; keys: ``fgalign.engine.store`` key of any string in a set's row caches, for image
    tables the region keys of its ``image_key`` values) and the image stores'
    Parquet rows (``images/<stage>-<hash>/<set>/``, one row per distinct image, written by
    whichever execution met the image first, often one prefetch of every set's images: by
    ``image_key``, a file's bytes shared equally by its rows; the folders' other files count
    against the questions). Each record or row goes to the first fixed set by name that refers
    to it, else to the evaluated set. So the questions' share is their marginal cost: what N more
    questions add to a cache that already holds the fixed sets (a keyword equal to an answer
    prompt is not written twice). Records the questions refer to but a fixed set holds are
    counted (``shared``), and records nobody refers to go to the questions
    (``unattributed``). A shard's bytes (``.npy`` headers included) are shared equally by its
    records.

    Returns:
        ``{"evaluated", "question", "fixed": {set: share}, "tables": {name: {"records",
        "question", "shared", "unattributed", "fixed": {set: records}}}, "images": {stage:
        (same keys, image rows)}}``; the shares' bytes add up to every byte under ``root``.
    """
    share = lambda: {"bytes": 0, "embedding": 0, "by_stage": defaultdict(int)}
    question, fixed = share(), defaultdict(share)
    files: dict[str, list[Path]] = defaultdict(list)  # row-cache Parquet files of each set
    tables: list[Path] = []
    stores: list[tuple[Path, str]] = []  # image-store Parquet files: path, stage

    def add(s: dict, stage: str, size: int, emb: int) -> None:
        s["bytes"] += size
        s["embedding"] += emb
        s["by_stage"][stage] += size

    for f in sorted(root.rglob("*")):
        if not f.is_file():
            continue
        rel = f.relative_to(root).parts
        if rel[0] == "tables" and len(rel) > 2:
            if f.name == "keys.npy":
                tables.append(f.parent)
            continue
        stage = (rel[1] if len(rel) > 1 else rel[0]).split("-")[0].split(".")[0]
        owner = _owner(f, root)
        if rel[0] == "images" and f.suffix == ".parquet":
            stores.append((f, stage))  # shared by every set: attributed per image below
            continue
        if f.suffix == ".parquet" and owner is not None:
            files[owner].append(f)
        if owner is None and len(rel) == 2 and f.name.startswith("prepare-"):
            add(fixed[CONTEXT], stage, f.stat().st_size, 0)
        elif owner is None or owner == evaluated or rel[0] == "images":
            add(question, stage, f.stat().st_size, 0)
        else:
            add(fixed[owner], stage, f.stat().st_size, 0)

    others = sorted(s for s in files if s != evaluated)
    order = [*others, evaluated]
    refs: dict[tuple[str, str], set] = {}

    def attribute(kind: str, keys: list, size: int, emb: int, stage: str,
                  info: dict[str, Any]) -> None:
        """Share one file's (or shard's) bytes among the sets by the items' keys."""
        for s in order:
            if (kind, s) not in refs:
                refs[kind, s] = (parquet_strings(files.get(s, []), {"image_key"})
                                 if kind == "store" else _table_keys(kind, files.get(s, [])))
        counts = dict.fromkeys(order, 0)
        for key in keys:
            who = next((s for s in order if key in refs[kind, s]), None)
            if who is None:
                info["unattributed"] += 1
            else:
                counts[who] += 1
            info["shared"] += who not in (None, evaluated) and key in refs[kind, evaluated]
        n = max(len(keys), 1)
        info["records"] += len(keys)
        info["question"] += len(keys) - sum(counts[s] for s in others)
        for s in others:
            if counts[s]:
                info["fixed"][s] += counts[s]
                add(fixed[s], stage, size * counts[s] // n, emb * counts[s] // n)
        add(question, stage, size - sum(size * counts[s] // n for s in others),
            emb - sum(emb * counts[s] // n for s in others))

    new_info = lambda: {"records": 0, "question": 0, "shared": 0, "unattributed": 0,
                        "fixed": defaultdict(int)}
    table_info: dict[str, dict[str, Any]] = defaultdict(new_info)
    for shard in sorted(tables):
        name = shard.parent.name
        size = sum(p.stat().st_size for p in shard.rglob("*") if p.is_file())
        vals = (shard / "values.npy").stat().st_size if (shard / "values.npy").is_file() else 0
        keys = np.load(shard / "keys.npy").tolist()
        attribute(name.split("-")[0], keys, size, vals, name.split("-")[0], table_info[name])
    import pyarrow.parquet as pq

    store_info: dict[str, dict[str, Any]] = defaultdict(new_info)
    for f, stage in stores:
        names = pq.ParquetFile(f).schema_arrow.names
        keys = (pq.read_table(f, columns=["image_key"]).column(0).to_pylist()
                if "image_key" in names else [])
        attribute("store", keys, f.stat().st_size, 0, stage, store_info[stage])
    plain = lambda s: {**s, "by_stage": dict(s["by_stage"])}
    return {"evaluated": evaluated, "question": plain(question),
            "fixed": {k: plain(v) for k, v in sorted(fixed.items())},
            "tables": {k: {**v, "fixed": dict(v["fixed"])} for k, v in table_info.items()},
            "images": {k: {**v, "fixed": dict(v["fixed"])} for k, v in store_info.items()}}


def cache_sizes(root: Path, evaluated: str | None = None) -> dict[str, Any]:
    """Bytes on disk under a stage-cache root: total, per stage (``<task>/<stage>-<hash>``
    folders, or the file name's first word), the float (embedding) column bytes, and with
    ``evaluated`` (the evaluated split's name) the ``cache_split`` of them (``split``)."""
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
    out = {"total": total, "float_columns": floats, "by_stage": dict(by_stage)}
    if evaluated is not None:
        out["split"] = cache_split(root, evaluated)
    return out


def candidate_stats(root: Path, evaluated: str) -> dict[str, Any] | None:
    """Candidates per question of the evaluated split (VQA ``candidates`` stage cache).

    Returns:
        ``{"questions", "mean", "max", "pool_mean", "pool_max", "per_uid": {uid: [candidates,
        pool]}}``; None when the cache has no such stage (other tasks).
    """
    import pyarrow.parquet as pq

    for d in sorted(root.glob("*/candidates-*")):
        parts = sorted(d.glob("*.parquet"))
        if _set_of(d) != evaluated or not parts:
            continue
        t = pq.read_table(parts, columns=["uid", "candidates", "pool_size"]).to_pydict()
        n = [len(c or []) for c in t["candidates"]]
        pool = [int(p or 0) for p in t["pool_size"]]
        return {"questions": len(n), "mean": float(np.mean(n)), "max": int(max(n)),
                "pool_mean": float(np.mean(pool)), "pool_max": int(max(pool)),
                "per_uid": {u: [a, b] for u, a, b in zip(t["uid"], n, pool)}}
    return None


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
            "work_s": work_s, "prepare_s": prepare_s, **execution_costs(timings), "peak_mb": run["peak_mb"], "baseline_mb": run["baseline_mb"],
            "pid": run.get("pid"), "cache": cache_sizes(case / "cache", SPLIT[task]),
            "candidates": candidate_stats(case / "cache", SPLIT[task]),
            "counters": summarize(case / "counters", run.get("pid")),
            **stage_seconds(stages, SPLIT[task])}


def execution_costs(timings: dict[str, Any]) -> dict[str, float]:
    """``{"exec_s", "startup_s"}`` of a run's ``timings.json``: the wall its executions span
    (from the first one's start to the last one's end: executions that overlap count once;
    Ray's start is outside them) and their fixed cost, the part of that span not spent inside
    their stages (pool start-up, scheduling, commits), paid once per run; {} for a run without
    a timeline."""
    timeline = timings.get("execution_timeline", [])
    if not timeline:
        return {}
    starts = [float(e.get("start_s", 0.0)) for e in timeline]
    if "start_s" not in timeline[0]:  # an older timeline: one after the other, Ray's start in
        exec_s = sum(e["wall_s"] for e in timeline) - timings.get("ray_init_s", 0.0)
    else:
        exec_s = max(s + e["wall_s"] for s, e in zip(starts, timeline)) - min(starts)
    return {"exec_s": exec_s, "startup_s": max(exec_s - sum(e["busy_s"] for e in timeline), 0.0)}


def stage_seconds(stages: list[dict], evaluated: str) -> dict[str, dict[str, float]]:
    """Seconds per ``<task>/<stage>`` from a run's ``stages.json``, summed over its records.

    Returns:
        ``{"stage_s": ..., "fixed_stage_s": ...}``: ``stage_s`` the evaluated split's stages and
        the image prefetch (every set's images, once: counted as per-row work), ``fixed_stage_s``
        the other input sets' (calibration subsets, answer prompts: once per run).
    """
    per_row: dict[str, float] = defaultdict(float)
    fixed: dict[str, float] = defaultdict(float)
    for r in stages:
        where = per_row if r.get("split") in (evaluated, "prefetch", None) else fixed
        where[f"{r['task']}/{r['stage']}"] += float(r.get("seconds") or 0.0)
    return {"stage_s": dict(per_row), "fixed_stage_s": dict(fixed)}


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


def _per_q(c: dict, scale: float = 1.0) -> float:
    """The evaluated questions' stage-cache bytes per question (``cache_split``), embedding
    bytes multiplied by ``scale`` (embedding width of the target backbone / the measured one)."""
    q = c["cache"]["split"]["question"]
    return (q["bytes"] + q["embedding"] * (scale - 1.0)) / c["rows"]


def _fixed(c: dict, scale: float = 1.0) -> dict[str, float]:
    """The fixed shares of a run's stage cache (bytes; embedding bytes × ``scale``), by set."""
    return {k: v["bytes"] + v["embedding"] * (scale - 1.0)
            for k, v in c["cache"]["split"]["fixed"].items()}


def _binding(small: dict, big: dict, k: int | None) -> tuple[str, dict[str, Any]]:
    """How the candidates per question of two VQA runs compare (per question uid)."""
    cs, cb = small.get("candidates"), big.get("candidates")
    if not cs or not cb:
        return "candidates per question not recorded", {}
    common = set(cs["per_uid"]) & set(cb["per_uid"])
    same = sum(cs["per_uid"][u][0] == cb["per_uid"][u][0] for u in common)
    cut = lambda c: sum(p > n for n, p in c["per_uid"].values())
    out = {"k": k, "same": same, "common": len(common), "mean": [cs["mean"], cb["mean"]],
           "max": [cs["max"], cb["max"]], "cut": [cut(cs), cut(cb)]}
    return (f"k = {k if k is not None else '?'}: candidates per question mean {cs['mean']:.2f}"
            f" / {cb['mean']:.2f}, max {cs['max']} / {cb['max']}, the same number on {same} of"
            f" {len(common)} questions (the cut removed answers on {out['cut'][0]} / "
            f"{out['cut'][1]}; the others' type / prefix pool held ≤ k answers)"), out


def cache_vocab(small: dict, big: dict, k: int | None, dim_scale: float = 1.0,
                pair: list[str] | None = None) -> Measurement:
    """Per-question stage-cache bytes, big / small vocabulary, at a candidate bound ``k``.

    The fixed shares (answer prompts, task context, calibration sets: ``cache_split``) do not
    grow with the questions; they are reported and amortised over VQAv2 val's questions.
    """
    from fgalign.bench.projection import DATASETS

    vs, vb, real = small["vocab"], big["vocab"], DATASETS["vqa"][1]
    why, bind = _binding(small, big, k)
    stages = lambda c: ", ".join(f"{st} {v / c['rows'] / 1e3:.2f}" for st, v in sorted(
        c["cache"]["split"]["question"]["by_stage"].items()))
    fs, fb = _fixed(small), _fixed(big)
    fixed = "; ".join(f"{n} {fb.get(n, 0) / 1e3:.0f} / {fs.get(n, 0) / 1e3:.0f} kB"
                      for n in sorted(set(fs) | set(fb)))
    amort = sum(_fixed(big, dim_scale).values()) / real
    return Measurement(
        "scale_cache_vocab", f"Scale: stage-cache bytes per question, {vb} / {vs} answers "
        f"(same candidate bound)", _per_q(big) / _per_q(small), "<= 1.2",
        f"{_per_q(big) / 1e3:.2f} kB vs {_per_q(small) / 1e3:.2f} kB per question "
        f"({big['rows']} / {small['rows']} questions, the questions' share of the cache"
        f"{'; ' + ', '.join(pair) if pair else ''}); {why}; "
        f"kB per question by stage at {vb}: {stages(big)}; at {vs}: {stages(small)}. Fixed, "
        f"not per question, at {vb} / {vs} answers: {fixed}; at {vb} answers = "
        f"{amort:.1f} bytes per question over VQAv2 val's {real:,} (embedding bytes × "
        f"{dim_scale:g} for ViT-B)",
        extra={"per_question": [_per_q(small), _per_q(big)], "binding": bind,
               "fixed": {str(vs): fs, str(vb): fb}, "amortised_bytes": amort,
               "split": {str(vs): small["cache"]["split"], str(vb): big["cache"]["split"]}})


def cache_real(one: dict, big_x: dict, k: int | None, dim_scale: float = 1.0) -> Measurement:
    """Stage-cache kB per question at the config's ``k`` and the big vocabulary: the
    questions' share (largest run) plus the fixed shares over VQAv2 val's questions."""
    from fgalign.bench.projection import DATASETS

    real = DATASETS["vqa"][1]
    fixed = sum(_fixed(big_x, dim_scale).values())
    value = (_per_q(big_x, dim_scale) + fixed / real) / 1e3
    cand = lambda c: (f"mean {c['candidates']['mean']:.1f}, max {c['candidates']['max']} "
                      f"(pool mean {c['candidates']['pool_mean']:.0f}, max "
                      f"{c['candidates']['pool_max']})") if c.get("candidates") else "?"
    return Measurement(
        "scale_cache_real", f"Scale: stage-cache kB per question at k = {k}, "
        f"{big_x['vocab']} answers, ViT-B width (VQAv2 val)", value, "",
        f"candidates per question {cand(big_x)}; the questions' share "
        f"{_per_q(big_x) / 1e3:.2f} kB per question at {big_x['rows']} questions "
        f"({_per_q(one) / 1e3:.2f} kB at {one['rows']}) with the measured width, "
        f"{_per_q(big_x, dim_scale) / 1e3:.2f} kB with embedding bytes × {dim_scale:g}; fixed "
        f"{fixed / 1e3:.0f} kB (likewise) = {fixed / real:.1f} bytes per question "
        f"over {real:,} questions",
        extra={"per_question": _per_q(big_x), "per_question_scaled": _per_q(big_x, dim_scale),
               "per_question_1x": _per_q(one), "fixed_scaled": fixed,
               "candidates": {k2: v for k2, v in (big_x.get("candidates") or {}).items()
                              if k2 != "per_uid"}})


def scale_ratios(big: dict, big_x: dict, factor: int) -> list[Measurement]:
    """The memory and throughput ratios of the 1× and 10× VQA runs (same config)."""
    qps = lambda c: c["rows"] / c["work_s"]
    vb = big["vocab"]
    growth = lambda c: c["peak_mb"] - c["baseline_mb"]
    return [
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


def config_k(overrides: list[str]) -> int | None:
    """``tasks.vqa.k`` of ``configs/vqav2.yaml`` after ``overrides`` (the last one wins)."""
    for o in reversed(overrides):
        if o.startswith("tasks.vqa.k="):
            return int(o.split("=", 1)[1])
    import yaml

    k = ((yaml.safe_load((REPO / CONFIGS["vqa"]).read_text()).get("tasks") or {}).get("vqa")
         or {}).get("k")
    return int(k) if k is not None else None


def run_cases(work: Path, overrides: list[str], mode: str, log: Path) -> dict[str, Any]:
    """Generate the data and run the cases (five; six with a vocabulary pair at ``k_bound``;
    two more with SNLI-VE and VCR at ``factor``);
    also written to ``work/cases.json``."""
    sizes = SCALE_MODES[mode]
    work.mkdir(parents=True, exist_ok=True)
    ov = CPU_DEFAULTS + sizes.extra + list(overrides)
    pair = [] if sizes.k_bound is None else [f"tasks.vqa.k={sizes.k_bound}",
                                              "tasks.vqa.oracle=false"]
    plan = [("vqa-small", "vqa", sizes.vocab_small, sizes.pair_scale, pair),
            *([("vqa-big-k", "vqa", sizes.vocab_big, sizes.pair_scale, pair)] if pair else []),
            ("vqa-big", "vqa", sizes.vocab_big, 1, []),
            ("vqa-big-x", "vqa", sizes.vocab_big, sizes.factor, []),
            ("snli_ve", "snli_ve", sizes.vocab_big, 1, []), ("vcr", "vcr", sizes.vocab_big, 1, []),
            *([("snli_ve-x", "snli_ve", sizes.vocab_big, sizes.factor, []),
               ("vcr-x", "vcr", sizes.vocab_big, sizes.factor, [])] if sizes.task_pairs else [])]
    roots = {}
    for vocab, scale in sorted({(p[2], p[3]) for p in plan}):
        spec = replace(sizes.spec, vocab=vocab, scale=scale)
        root = work / f"data-v{vocab}-x{scale}"
        roots[vocab, scale] = (root, generate_scale_data(root, spec))
    cases = {}
    for name, task, vocab, scale, extra in plan:
        root, stats = roots[vocab, scale]
        rows = stats[task][SPLIT[task]][ROWS[task]]
        case_ov = ov + ([f"{VOCAB_KEY[task]}={vocab}", *extra] if task in VOCAB_KEY else [])
        cases[name] = {**run_case(name, task, root, rows, work, case_ov, log), "vocab": vocab,
                       "scale": scale, "images": stats[task][SPLIT[task]]["images"],
                       "k": config_k(case_ov)}
    out = {"cases": cases, "overrides": ov, "factor": sizes.factor, "k": config_k(ov), "mode": mode,
           "k_bound": sizes.k_bound, "pair_overrides": pair,
           "sizes": {"spec": sizes.spec.__dict__, "vocab_small": sizes.vocab_small,
                     "vocab_big": sizes.vocab_big, "factor": sizes.factor,
                     "k_bound": sizes.k_bound, "pair_scale": sizes.pair_scale}}
    (work / "cases.json").write_text(json.dumps(out, indent=1, default=str))
    return out


def measure(run: dict[str, Any]) -> tuple[list[Measurement], dict[str, Any]]:
    """The ratios and projection rows of ``run_cases``' output, and the projection's
    assumptions (lines of text)."""
    from fgalign.bench.projection import TARGET_DIM, embed_dim, project_all

    cases = run["cases"]
    dim = embed_dim(run["overrides"])
    dim_scale = TARGET_DIM / dim if dim else 1.0
    pair = cases.get("vqa-big-k", cases["vqa-big"])
    results = [cache_vocab(cases["vqa-small"], pair, pair.get("k"), dim_scale,
                           run.get("pair_overrides")),
               cache_real(cases["vqa-big"], cases["vqa-big-x"], cases["vqa-big-x"].get("k"),
                          dim_scale),
               *scale_ratios(cases["vqa-big"], cases["vqa-big-x"], run["factor"])]
    # each task's largest run; for the projection with the 1× run beside it where there are
    # two sizes (``projection.linear``: per-row and once-per-run costs apart)
    big = {"vqa": cases["vqa-big-x"], **{t: cases.get(f"{t}-x", cases[t]) for t in ("snli_ve", "vcr")}}
    small = {"vqa": cases["vqa-big"], **{t: cases[t] for t in ("snli_ve", "vcr") if f"{t}-x" in cases}}
    for c in big.values():
        results += image_ratios(c)
    results.append(driver_models(list(cases.values())))
    proj, assumptions = project_all(big, REPO / "cluster.yaml", run["overrides"], small)
    if run.get("mode") == "quick":  # tiny sizes: the harness runs, the hours mean nothing
        for m in proj:
            m.detail = ("QUICK MODE, not a projection: a few rows per run, where a second of "
                        "noise is milliseconds per row (`fgalign bench --only scale` measures "
                        "10× more); " + m.detail)
    return results + proj, {"assumptions": assumptions}


def remeasure(work: str | Path) -> tuple[list[Measurement], dict[str, Any]]:
    """``measure`` again over a finished run's folder (``<work>/cases.json`` and each case's
    stage cache and ``stages.json``), with this code's cache split and stage times; the work
    counters, memory and wall times are the run's as recorded."""
    work = Path(work)
    run = json.loads((work / "cases.json").read_text())
    for name, c in run["cases"].items():
        case, split = work / "cases" / name, SPLIT[c["task"]]
        c["cache"] = cache_sizes(case / "cache", split)
        c["candidates"] = candidate_stats(case / "cache", split)
        c.update(stage_seconds(_json(case / "runs", "stages.json") or [], split))
        c.update(execution_costs(_json(case / "runs", "timings.json") or {}))
    return measure(run)


def bench_scale(work: Path, overrides: list[str], mode: str, log: Path
                ) -> tuple[list[Measurement], dict[str, Any]]:
    """Everything: ``run_cases`` then ``measure``; returns the rows and the raw numbers."""
    run = run_cases(work, overrides, mode, log)
    results, info = measure(run)
    return results, {**run, **info}
