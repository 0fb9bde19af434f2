"""The embedded rows adaptation reads, filled once into the shared stage caches.

    caches, info = fill_caches(cfg, needed_keys(cfg, target))   # "task/split" → Parquet folder

For each (task, split) the rows go through the method's graph up to the ``embed`` stage (images
once each, keywords, text table) with the same ``fgalign.engine.runner.Runner`` the pipeline uses
(Ray actors or this process), so the caches and embedding tables are the ones
``pipelines/full.py`` writes and reads (same hash chain): an evaluation split the pipeline
already embedded is not embedded again, and sweeps / ablations / ``fgalign adapt`` never run
CLIP once a cache exists. ``fgalign.engine.gather.read_rows`` gathers the embeddings of a cache.

SNLI-VE as a target also needs the text-only protocol's training rows (``train_text``: the
premise caption in place of the image, its noun phrases in place of the regions), the same
input set the SNLI-VE calibration embeds (``Task.text_only_set``).

Embedding is label-free preprocessing and may include the target's split; what keeps the target
unseen is ``TaskStore``: training and selection cannot read it (see ``fgalign.adapt.data``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from fgalign.adapt.snli_ve import TRAIN_TEXT
from fgalign.adapt.train import sources_of
from fgalign.config import Config
from fgalign.engine.cache import SUCCESS
from fgalign.engine.runner import LocalExecutor, cache_root
from fgalign.experiment.plan import load_task_rows, make_runner, prepare_task
from fgalign.tasks import get_task

__all__ = ["cache_root", "embed_seconds", "fill_caches", "needed_keys", "row_context"]


def needed_keys(cfg: Config, target: str | None) -> list[tuple[str, str]]:
    """(task, split) pairs leave-one-out on ``target`` reads (None: every task as a source)."""
    d = cfg.data
    sources = sources_of(cfg, target) if target else list(d.tasks)
    keys = [(t, s) for t in sources for s in (d.train_split, d.val_split)]
    if target:
        keys.append((target, d.split))
    if target and get_task(target).adaptation_protocol() == "text_only_classifier":
        # its classifier: val + text-only train
        keys += [(target, d.val_split), (target, TRAIN_TEXT)]
    return list(dict.fromkeys(keys))


def row_context(cfg: Config, task: str) -> dict[str, Any]:
    """What ``load_task_rows`` needs to build statements: the VQA answer vocabulary (train).

    No calibration runs here (the classifier and thresholds are refitted at evaluation).
    """
    return prepare_task(cfg, task, calibrate=False)


def fill_caches(cfg: Config, keys: list[tuple[str, str]], use_ray: bool = True
                ) -> tuple[dict[str, str], dict]:
    """Make sure every (task, split) in ``keys`` has an embed-stage cache.

    Args:
        cfg: experiment config (data, model, regions, keywords, ``ray`` resources).
        keys: (task, split) pairs, e.g. ``needed_keys(cfg, target)``.
        use_ray: run the stages with Ray Data (Ray must be initialised); False runs them in
            this process (``fgalign.engine.runner.LocalExecutor``) into the same cache folders.

    Returns:
        ``"task/split" → cache path`` and timing info: ``{"embed_s": seconds the CLIP stages
        (images, embed) computed in this call (0 when all cached), "stages_s", "rows": rows
        per key, "cached": [keys found complete]}``.
    """
    if use_ray:
        # Ray loads only when the caches are filled on Ray
        from fgalign.ray.executor import RayExecutor

        runner = make_runner(cfg, RayExecutor(cfg.ray))
    else:
        runner = make_runner(cfg, LocalExecutor())
    paths: dict[str, str] = {}
    info: dict[str, Any] = {"embed_s": 0.0, "stages_s": 0.0, "rows": {}, "cached": []}
    ctxs: dict[str, dict] = {}
    for task, split in keys:
        ctx = ctxs.setdefault(task, row_context(cfg, task))
        if split == TRAIN_TEXT:
            t = get_task(task)
            name, rows = t.text_only_set(cfg, t.read_rows(cfg, cfg.data.train_split, None))
            run = runner.run_split(task, name, rows, {"task": task}, stop_after="embed",
                                   text_only=True)
        else:
            run = runner.run_split(task, split, load_task_rows(cfg, task, ctx, split=split), ctx,
                                   stop_after="embed")
        key = f"{task}/{split}"
        paths[key], info["rows"][key] = run.path, run.n
        info["embed_s"] += sum(r.seconds for r in run.records if r.stage in ("images", "embed"))
        info["stages_s"] += sum(r.seconds for r in run.records)
        if all(r.cached for r in run.records):
            info["cached"].append(key)
    return paths, info


def embed_seconds(paths: dict[str, str]) -> float:
    """Seconds the embed stage took when it computed these caches (their ``_SUCCESS`` marker)."""
    total = 0.0
    for path in paths.values():
        fs, where = pafs.FileSystem.from_uri(path if "://" in path else str(Path(path).resolve()))
        with fs.open_input_stream(f"{where}/{SUCCESS}") as f:
            total += float(json.loads(f.read()).get("seconds", 0.0))
    return total
