"""The stage graph, shared by in-process ``fgalign evaluate`` and the Ray pipeline.

CONTRACT (owned by the method; the Ray pipeline wraps exactly these):

    ctx = prepare_task(cfg, task)          # driver side, once per task: reads train/val data it
                                           # needs (VQA answer vocab, SNLI-VE text-only classifier)
    rows = load_task_rows(cfg, task, ctx)  # unified rows of cfg.data.split, with `statements`
    specs = build_stage_specs(cfg, task, ctx)   # ordered: regions, keywords, embed, score
    for spec in specs:
        stage = spec.cls(**spec.kwargs)    # heavy models load here (actor __init__ under Ray)
        batch = stage(batch)               # dict[str, np.ndarray] -> dict[str, np.ndarray]
    result = finalize(cfg, task, ctx, rows)     # metrics + predictions (fgalign.evaluate)

- ``StageSpec.name`` is one of ``regions``, ``keywords``, ``embed``, ``score``; its resources are
  ``cfg.ray.stages[name]``; ``StageSpec.hash`` covers the stage's config and (by the caller)
  upstream hashes; ``kwargs`` are picklable (configs as dicts, ctx as plain data).
- A stage never drops or reorders rows; a row with a non-empty ``error`` passes through untouched
  (new columns get empty values); a row failing inside a stage gets ``error="<stage>:<reason>"``.
- Batches are numpy dicts as Ray Data gives them: list columns may arrive as object arrays of
  np.ndarrays; per-row variable-shape arrays are returned in object arrays.
- ``finalize(cfg, task, ctx, rows_or_table)`` turns scored rows into predictions + metrics.

Columns the task adapters add in ``load_task_rows`` (besides the unified row): ``statements``
(C,), ``cand_group`` (C,) (VCR: 0 answers, 1 rationales), ``labels`` (gold index per group),
VQA ``answer_type_inferred``, VCR ``statement_refs``. SNLI-VE rows have one statement (the
hypothesis); its score columns are (3,) class logits. ``run_inprocess`` is the reference
execution (batches of ``cfg.ray.stages[name].batch_size``) the Ray pipeline must match.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from fgalign.config import Config, RowFailureCfg, StageResources, config_hash, require, to_dict
from fgalign.rowguard import RowGuard
from fgalign.schema import TASKS

STAGE_NAMES = ("regions", "keywords", "embed", "score")


@dataclass
class StageSpec:
    """One stage of the graph: how to build it, with what resources, and its config hash."""

    name: str
    cls: type
    kwargs: dict[str, Any]
    resources: StageResources
    hash: str
    row_failures: RowFailureCfg = field(default_factory=RowFailureCfg)  # when raising rows mean a broken stage

    def guard(self) -> RowGuard:
        """A fresh ``RowGuard`` for this stage (rows that raise → error rows; broken → raise)."""
        return RowGuard(self.name, self.row_failures.max_share, self.row_failures.min_rows)


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")


def read_rows(cfg: Config, task: str, split: str, limit: int | None) -> list[dict]:
    """Unified rows of one split (first ``limit`` rows).

    Raises:
        EmptySplitError: no row is usable (all skipped or read errors); the message names
            task, split and the reader's skip / error counts.
    """
    from fgalign.data.readers import read_split, usable_or_raise

    rows, skipped = read_split(task, require(cfg.data.root, "data.root"), split, cfg.data)
    cut = limit if limit is not None and len(rows) > limit else None
    rows = rows[:cut] if cut is not None else rows
    usable_or_raise(task, split, rows, skipped, cut)
    return rows


def prepare_task(cfg: Config, task: str) -> dict[str, Any]:
    """Driver-side, once per task: plain data the stages and ``finalize`` need.

    VQA: answer vocabulary of the train split (+ yes/no thresholds on unlabelled val). SNLI-VE: train label prior and the text-only
    classifiers (or thresholds), fitted on train / val (``fgalign.tasks.fit``). VCR: train
    answer / rationale position priors.
    """
    _check_task(task)
    train = read_rows(cfg, task, cfg.data.train_split, None)
    ctx: dict[str, Any] = {"task": task}
    if task == "vqa":
        from fgalign.tasks.vqa import prepare_vqa

        ctx["vqa"] = prepare_vqa(train, cfg.tasks.vqa.answer_vocab_size)
        if cfg.tasks.vqa.yes_no == "threshold":
            from fgalign.align.stage import variant_names
            from fgalign.tasks.vqa import fit_yes_no, yes_prior

            val = load_task_rows(cfg, task, ctx, cfg.data.val_split, cfg.tasks.vqa.val_limit)
            val = [r for r in val if r["answer_type_inferred"] == "yes/no"]
            scored = run_stages(build_stage_specs(cfg, task, ctx), val, keep_heavy=0,
                                desc="vqa val yes/no")
            ctx["vqa"]["yes_no"] = fit_yes_no(scored, variant_names(cfg.align), yes_prior(train))
    elif task == "snli_ve":
        ctx["prior"] = np.bincount([r["target"] for r in train if r["target"] >= 0],
                                   minlength=3).tolist()
        from fgalign.tasks.fit import fit_snli_ve

        ctx["snli_ve"] = fit_snli_ve(cfg, ctx)
    else:
        ctx["prior"] = np.bincount([r["target"] for r in train if r["target"] >= 0],
                                   minlength=4).tolist()
        ctx["prior_r"] = np.bincount([r["rationale_label"] for r in train
                                      if r["rationale_label"] >= 0], minlength=4).tolist()
    return ctx


def add_statements(cfg: Config, task: str, ctx: dict, rows: list[dict]) -> list[dict]:
    """Apply the task adapter: ``statements``, ``cand_group``, ``labels`` (+ task extras)."""
    if task == "vqa":
        from fgalign.tasks.convert import create_converter
        from fgalign.tasks.vqa import add_vqa_statements

        vq = cfg.tasks.vqa
        kwargs = {"model": vq.t5_model} if vq.converter == "t5" else {}
        return add_vqa_statements(rows, ctx["vqa"], create_converter(vq.converter, **kwargs),
                                  vq.type_filter, vq.prefix_filter)
    if task == "snli_ve":
        from fgalign.tasks.snli_ve import add_snli_ve_statements

        return add_snli_ve_statements(rows)
    from fgalign.tasks.vcr import add_vcr_statements

    vc = cfg.tasks.vcr
    return add_vcr_statements(rows, vc.modes, vc.answer_template, vc.rationale_template)


def load_task_rows(cfg: Config, task: str, ctx: dict, split: str | None = None,
                   limit: int | None = -1) -> list[dict]:
    """Unified rows of ``split`` (default ``cfg.data.split``, ``cfg.data.limit``) + statements."""
    _check_task(task)
    rows = read_rows(cfg, task, split or cfg.data.split,
                     cfg.data.limit if limit == -1 else limit)
    return add_statements(cfg, task, ctx, rows)


def build_stage_specs(cfg: Config, task: str, ctx: dict) -> list[StageSpec]:
    """The ordered stages of ``task``: regions, keywords, embed, score."""
    from fgalign.align.stage import AlignmentScorer
    from fgalign.embed import Embedder
    from fgalign.keywords.stage import KeywordExtractor
    from fgalign.regions.stage import RegionProposer

    _check_task(task)
    root = require(cfg.data.root, "data.root")
    proposer = cfg.regions.proposer
    if task == "vcr" and cfg.tasks.vcr.proposer:
        proposer = cfg.tasks.vcr.proposer
    built = [
        ("regions", RegionProposer, {"root": root, "proposer": proposer,
                                     "params": dict(cfg.regions.params),
                                     "max_regions": cfg.regions.max_regions,
                                     "min_score": cfg.regions.min_score}),
        ("keywords", KeywordExtractor, {"extractor": cfg.keywords.extractor,
                                        "max_keywords": cfg.keywords.max_keywords}),
        ("embed", Embedder, {"root": root, "model": to_dict(cfg.model),
                             "context_pad": cfg.regions.context_pad,
                             "tag_vocab": cfg.regions.tag_vocab,
                             "max_keywords": cfg.keywords.max_keywords}),
        ("score", AlignmentScorer, {"task": task, "align": to_dict(cfg.align), "ctx": ctx,
                                    "tag_filter": cfg.tasks.vqa.tag_filter}),
    ]
    specs = []
    for name, cls, kwargs in built:
        hashed = {k: v for k, v in kwargs.items() if k != "root"}  # the dataset is hashed upstream
        specs.append(StageSpec(name, cls, kwargs, cfg.ray.stages.get(name, StageResources()),
                               config_hash({"stage": name, "cls": cls.__name__, **hashed}),
                               cfg.ray.row_failures))
    return specs


def rows_to_batch(rows: list[dict]) -> dict[str, np.ndarray]:
    """Row dicts → a numpy dict-batch (every column an object array, as Ray gives ragged ones)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    batch = {}
    for k in keys:
        col = np.empty(len(rows), dtype=object)
        for i, r in enumerate(rows):
            col[i] = r.get(k)
        batch[k] = col
    return batch


def batch_to_rows(batch: dict[str, np.ndarray]) -> list[dict]:
    """A dict-batch → row dicts (cells as stored)."""
    n = len(next(iter(batch.values()))) if batch else 0
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


HEAVY = ("region_embs", "tag_embs", "stmt_embs", "kw_embs", "kw_mask")


def run_stages(specs: list[StageSpec], rows: list[dict], keep_heavy: int | None = None,
               desc: str = "stages") -> list[dict]:
    """Stream ``rows`` through every stage, batch by batch (each stage built once).

    A row that raises inside a stage becomes an error row (``fgalign.rowguard.RowGuard``);
    ``StageBroken`` is raised when too many rows of one stage raise.

    Args:
        specs: ordered stages.
        rows: input rows (not modified).
        keep_heavy: keep embedding columns for the first N rows only (None: all rows);
            the rest drop them after the last stage to bound memory.
        desc: progress bar label.
    """
    stages = [(spec.cls(**spec.kwargs), spec.guard()) for spec in specs]
    size = max(1, min(s.resources.batch_size for s in specs))
    out: list[dict] = []
    for start in tqdm(range(0, len(rows), size), desc=desc, unit="batch", disable=None):
        batch = rows_to_batch(rows[start:start + size])
        for stage, guard in stages:
            batch = guard(stage, batch)
        for j, row in enumerate(batch_to_rows(batch)):
            if keep_heavy is not None and start + j >= keep_heavy:
                for k in HEAVY:
                    row.pop(k, None)
            out.append(row)
    return out


def run_inprocess(cfg: Config, task: str, ctx: dict | None = None, keep_heavy: int | None = None
                  ) -> tuple[list[dict], dict]:
    """Prepare, load and run every stage of ``task`` in this process: (scored rows, ctx)."""
    ctx = prepare_task(cfg, task) if ctx is None else ctx
    rows = load_task_rows(cfg, task, ctx)
    scored = run_stages(build_stage_specs(cfg, task, ctx), rows, keep_heavy, desc=task)
    return scored, ctx


def finalize(cfg: Config, task: str, ctx: dict, rows: Any) -> dict[str, Any]:
    """Scored rows (list of dicts, or a pyarrow / pandas table) → metrics and predictions."""
    from fgalign.evaluate import finalize_task

    if hasattr(rows, "to_pylist"):
        rows = rows.to_pylist()
    elif hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    return finalize_task(cfg, task, ctx, rows)
