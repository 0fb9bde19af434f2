"""The embedded rows adaptation reads, filled once into the shared stage caches.

    caches, info = fill_caches(cfg, needed_keys(cfg, target))   # "task/split" → Parquet folder

For each (task, split) the rows go through the first three stages of the method's graph
(regions → keywords → embed, ``fgalign.stages.build_stage_specs``) with the Ray pipeline's own
runner (``fgalign.ray.graph.run_task_graph``), so the caches are the ones ``pipelines/full.py``
writes and reads (same hash chain): an evaluation split the pipeline already embedded is not
embedded again, and sweeps / ablations / ``fgalign adapt`` never run CLIP once a cache exists.

SNLI-VE as a target also needs the text-only protocol's training rows (``train_text``: the
premise caption in place of the image, its noun phrases in place of the regions), made by the
method's ``fgalign.tasks.fit.text_only_rows`` (CLIP text encoder only) and cached beside them.

Embedding is label-free preprocessing and may include the target's split; what keeps the target
unseen is ``TaskStore``: training and selection cannot read it (see ``fgalign.adapt.data``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fgalign.adapt.snli_ve import TRAIN_TEXT
from fgalign.adapt.train import sources_of
from fgalign.config import Config, config_hash


def cache_root(cfg: Config) -> str:
    """``ray.cache_dir`` or ``<output_dir>/<experiment>/stages`` (as the Ray pipeline uses)."""
    return cfg.ray.cache_dir or f"{cfg.experiment.output_dir}/{cfg.experiment.name}/stages"


def needed_keys(cfg: Config, target: str | None) -> list[tuple[str, str]]:
    """(task, split) pairs leave-one-out on ``target`` reads (None: every task as a source)."""
    d = cfg.data
    sources = sources_of(cfg, target) if target else list(d.tasks)
    keys = [(t, s) for t in sources for s in (d.train_split, d.val_split)]
    if target:
        keys.append((target, d.split))
    if target == "snli_ve":
        keys += [("snli_ve", d.val_split), ("snli_ve", TRAIN_TEXT)]
    return list(dict.fromkeys(keys))


def row_context(cfg: Config, task: str) -> dict[str, Any]:
    """What ``load_task_rows`` needs to build statements: the VQA answer vocabulary (train).

    SNLI-VE's full context fits its classifiers (a pass over val images); its statements need
    none of it, and the classifier is refitted at evaluation anyway.
    """
    from fgalign.stages import prepare_task

    return {"task": task} if task == "snli_ve" else prepare_task(cfg, task)


def fill_caches(cfg: Config, keys: list[tuple[str, str]], use_ray: bool = True
                ) -> tuple[dict[str, str], dict]:
    """Make sure every (task, split) in ``keys`` has an embed-stage cache.

    Args:
        cfg: experiment config (data, model, regions, keywords, ``ray`` resources).
        keys: (task, split) pairs, e.g. ``needed_keys(cfg, target)``.
        use_ray: run the stages with Ray Data (Ray must be initialised); False runs them in
            this process (``fgalign.stages.run_stages``) and writes the same cache folder.

    Returns:
        ``"task/split" → cache path`` and timing info: ``{"embed_s": seconds the embed stage
        computed in this call (0 when all cached), "stages_s", "rows": rows per key,
        "cached": [keys found complete]}``.
    """
    from fgalign.ray.cache import StageCache

    cache = StageCache(cache_root(cfg))
    paths: dict[str, str] = {}
    info: dict[str, Any] = {"embed_s": 0.0, "stages_s": 0.0, "rows": {}, "cached": []}
    ctxs: dict[str, dict] = {}
    for task, split in keys:
        ctx = ctxs.setdefault(task, row_context(cfg, task))
        run = _text_only_cache if split == TRAIN_TEXT else _stage_cache
        path, n, cached, seconds = run(cfg, task, split, ctx, cache, use_ray)
        key = f"{task}/{split}"
        paths[key], info["rows"][key] = path, n
        info["embed_s"] += seconds["embed"]
        info["stages_s"] += seconds["all"]
        if cached:
            info["cached"].append(key)
    return paths, info


def embed_seconds(paths: dict[str, str]) -> float:
    """Seconds the embed stage took when it computed these caches (their ``_SUCCESS`` marker)."""
    import json

    import pyarrow.fs as pafs

    from fgalign.ray.cache import SUCCESS

    total = 0.0
    for path in paths.values():
        fs, where = pafs.FileSystem.from_uri(path if "://" in path else str(Path(path).resolve()))
        with fs.open_input_stream(f"{where}/{SUCCESS}") as f:
            total += float(json.loads(f.read()).get("seconds", 0.0))
    return total


def _stage_cache(cfg: Config, task: str, split: str, ctx: dict, cache: Any, use_ray: bool
                 ) -> tuple[str, int, bool, dict[str, float]]:
    """Regions → keywords → embed of one split: (path, rows, was cached, seconds)."""
    from fgalign.ray.cache import chain_hash, dataset_fingerprint
    from fgalign.stages import build_stage_specs, load_task_rows, run_stages

    rows = load_task_rows(cfg, task, ctx, split=split)
    specs = build_stage_specs(cfg, task, ctx)[:3]  # regions, keywords, embed
    fp = dataset_fingerprint(cfg.data.root, split, cfg.data.limit, task, rows)
    if use_ray:
        from fgalign.ray.graph import run_task_graph

        path, records = run_task_graph(rows, specs, task, fp, cache, cfg.ray)
        return path, len(rows), all(r.cached for r in records), {
            "embed": sum(r.seconds for r in records if r.stage == "embed"),
            "all": sum(r.seconds for r in records)}
    h = fp
    for spec in specs:  # the hash chain of fgalign.ray.graph.run_task_graph
        h = chain_hash(h, spec.hash)
    path = cache.path(task, specs[-1].name, h)
    if cache.rows(path) == len(rows):
        return path, len(rows), True, {"embed": 0.0, "all": 0.0}
    t0 = time.perf_counter()
    out = run_stages(specs, rows, desc=f"{task}/{split}")
    seconds = time.perf_counter() - t0
    _write(cache, path, [_plain(r) for r in out], task=task, stage=specs[-1].name,
           seconds=round(seconds, 3))
    return path, len(rows), False, {"embed": seconds, "all": seconds}


def _write(cache: Any, path: str, rows: list[dict], **marker: Any) -> None:
    """Rows as one Parquet file committed to ``path`` (atomic like the Ray pipeline's)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    table = table.cast(pa.schema([f.with_type(_float32(f.type)) for f in table.schema]))
    tmp = cache.begin(path)
    try:
        pq.write_table(table, f"{tmp}/part-0.parquet")  # a URI resolves its own filesystem
    except BaseException:
        cache.abort(tmp)
        raise
    cache.commit(tmp, path, len(rows), **marker)


def _text_only_cache(cfg: Config, task: str, split: str, ctx: dict, cache: Any,
                     use_ray: bool) -> tuple[str, int, bool, dict[str, float]]:
    """SNLI-VE's text-only training rows (in this process: text encoder only)."""
    from fgalign.ray.cache import dataset_fingerprint
    from fgalign.stages import build_stage_specs, load_task_rows
    from fgalign.tasks.fit import text_only_rows

    limit = cfg.tasks.snli_ve.train_limit
    rows = [r for r in load_task_rows(cfg, "snli_ve", ctx, cfg.data.train_split, limit)
            if not r["error"] and r["target"] >= 0]
    specs = build_stage_specs(cfg, "snli_ve", ctx)
    fp = dataset_fingerprint(cfg.data.root, cfg.data.train_split, limit, "snli_ve", rows)
    path = cache.path("snli_ve", TRAIN_TEXT, config_hash(
        {"rows": fp, "keywords": specs[1].hash, "embed": specs[2].hash}))
    if cache.rows(path) == len(rows):
        return path, len(rows), True, {"embed": 0.0, "all": 0.0}
    t0 = time.perf_counter()
    out = text_only_rows(rows, specs[1].cls(**specs[1].kwargs), specs[2].cls(**specs[2].kwargs))
    seconds = time.perf_counter() - t0
    _write(cache, path, [{**_plain(o), "target": int(r["target"]), "uid": r["uid"],
                          "task": "snli_ve", "error": ""} for o, r in zip(out, rows)],
           task="snli_ve", stage=TRAIN_TEXT, seconds=round(seconds, 3))
    return path, len(rows), False, {"embed": seconds, "all": seconds}


def _float32(t: Any) -> Any:
    """``t`` with float64 leaves (also inside lists) as float32: embeddings at half the size."""
    import pyarrow as pa

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_float32(t.value_type))
    return pa.float32() if pa.types.is_float64(t) else t


def _plain(row: dict) -> dict:
    """numpy values (also inside lists) → Python lists / scalars (Parquet-writable)."""
    def conv(v: Any) -> Any:
        if hasattr(v, "tolist"):
            return v.tolist()
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in row.items()}
