"""A cache for the driver-side task preparation (``fgalign.experiment.plan.prepare_task``).

``prepare_task`` reads the train split and, for VQA yes/no thresholds and the SNLI-VE
text-only classifiers, scores val rows and train texts through the runner's executor (cached
like every stage) and fits on them: still most of what a fully cached re-run would redo. Its result (the
task context: answer vocabulary, priors, fitted classifiers; plain JSON data) is stored next
to the stage caches::

    <cache root>/<task>/prepare-<key>.json

A context that does not survive JSON unchanged (tuples, numpy values) is not cached, so a
cached context is always equal to a fresh one (and the score stage's hash does not drift).

``key`` hashes the task, the config without the sections that cannot change the context
(``ray``, ``logging``, the experiment's name and output folder, and ``data.split`` /
``data.limit`` / ``data.tasks``, which select only the evaluated rows) and the name, size and
modification time of every file at the top of the dataset root (the annotation files; image
folders are identified by the root path, as in the stage caches). ``--force`` bypasses it.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

import pyarrow.fs as pafs

from fgalign.config import Config, config_hash, to_dict
from fgalign.engine.cache import resolve_uri
from fgalign.experiment.plan import prepare_task

log = logging.getLogger(__name__)


def annotation_stats(root: str) -> list[tuple[str, int, int]]:
    """(name, size, mtime ns) of the regular files directly under ``root``, sorted."""
    fs, where = resolve_uri(root)
    infos = fs.get_file_info(pafs.FileSelector(where, recursive=False))
    return sorted((i.base_name, i.size, i.mtime_ns or 0) for i in infos
                  if i.type == pafs.FileType.File)


def prepare_key(cfg: Config, task: str) -> str:
    """Hash of everything ``prepare_task(cfg, task)`` can depend on (see the module docstring)."""
    raw = to_dict(cfg)
    for section in ("ray", "logging"):
        raw.pop(section)
    raw["experiment"] = {"seed": cfg.experiment.seed}
    for key in ("split", "limit", "tasks"):
        raw["data"].pop(key)
    return config_hash({"task": task, "config": raw,
                        "files": annotation_stats(cfg.data.root)}, n=16)


def _context_path(cfg: Config, task: str, cache_root: str) -> tuple[Any, str]:
    fs, base = resolve_uri(cache_root)
    return fs, f"{base}/{task}/prepare-{prepare_key(cfg, task)}.json"


def cached_context(cfg: Config, task: str, cache_root: str) -> dict[str, Any] | None:
    """The cached ``prepare_task(cfg, task)`` context, or None when there is none."""
    fs, path = _context_path(cfg, task, cache_root)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as f:
        return json.loads(f.read())


def prepare_cached(cfg: Config, task: str, cache_root: str, force: bool = False,
                   runner: Any = None, runs: list[Any] | None = None
                   ) -> tuple[dict[str, Any], bool]:
    """``(ctx, was cached)``: ``prepare_task(cfg, task, runner, runs=runs)``, from cache when
    its inputs match."""
    if not force and (ctx := cached_context(cfg, task, cache_root)) is not None:
        return ctx, True
    fs, path = _context_path(cfg, task, cache_root)
    ctx = prepare_task(cfg, task, runner, runs=runs)
    try:
        text = json.dumps(ctx)
        exact = json.loads(text) == ctx
    except (TypeError, ValueError):
        exact = False
    if not exact:
        log.warning("the %s task context is not plain JSON data: not cached", task)
        return ctx, False
    fs.create_dir(os.path.dirname(path), recursive=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with fs.open_output_stream(tmp) as f:
        f.write(text.encode())
    fs.move(tmp, path)  # a reader sees the whole file or none
    return ctx, False
