"""The stage graph, shared by in-process ``fgalign evaluate`` and the Ray pipeline.

    runner = Runner(cfg, LocalExecutor())           # or RayExecutor (fgalign.ray.graph)
    ctx = prepare_task(cfg, task, runner)           # train statistics + calibration runs
    run = runner.run_split(task, cfg.data.split, load_task_rows(cfg, task, ctx), ctx)
    result = finalize(cfg, task, ctx, run)          # fgalign.finalize: streams run.path

Stages (``fgalign.schema.STAGE_NAMES``), each a plain callable over numpy dict-batches:

- once per **distinct image** (rows refer to it by ``image_key``, ``fgalign.store``):
  ``regions`` (``RegionProposer``: boxes, scores, labels) and ``images`` (``ImageEmbedder``:
  image and crop embeddings into the image table, region tags into the text table);
- once per **row**: ``keywords`` (``KeywordExtractor``), ``embed`` (``TextEmbedder``: every
  statement and keyword not yet in the text table) and ``score`` (``AlignmentScorer``: gathers
  the embeddings of its batch from the tables, writes per-candidate scores only).

``StageSpec.hash`` covers the stage's config, its class's ``VERSION`` and fgalign's version;
the graph chains it with every upstream hash (``fgalign.graph``). ``kwargs`` are picklable
(configs as dicts, ctx as plain data); keys in ``UNHASHED`` (paths that the hashes already
determine) are left out of the hash.

- A stage never drops or reorders rows; a row with a non-empty ``error`` passes through untouched
  (new columns get empty values); a row failing inside a stage gets ``error="<stage>:<reason>"``.
- ``prepare_task`` builds no model: the calibration it needs (VQA yes/no thresholds on
  unlabelled val, the SNLI-VE text-only fit and its val statistics) runs through the
  ``Runner`` it is given, i.e. through the same executor, actors and caches as evaluation; the
  fits are pure functions of the scored rows.

Columns the task adapters add in ``load_task_rows`` (besides the unified row): ``statements``
(C,), ``cand_group`` (C,) (VCR: 0 answers, 1 rationales), ``labels`` (gold index per group),
VQA ``answer_type_inferred``, VCR ``statement_refs``; and ``image_key``. SNLI-VE rows have
one statement (the hypothesis); its score columns are (3,) class logits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import fgalign
from fgalign.batch import batch_to_rows, rows_to_batch  # noqa: F401 - re-exported
from fgalign.config import Config, RowFailureCfg, StageResources, config_hash, require, to_dict
from fgalign.rowguard import RowGuard
from fgalign.schema import STAGE_NAMES, TASKS  # noqa: F401  (STAGE_NAMES re-exported)
from fgalign.store import file_identity, image_key
from fgalign.variants import variant_names

if TYPE_CHECKING:
    from fgalign.graph import Runner

UNHASHED = ("root", "tables", "image_records")  # kwargs determined by hashes already chained


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
    """Unified rows of one split (first ``limit`` rows), each with its ``image_key``.

    Raises:
        EmptySplitError: no row is usable (all skipped or read errors); the message names
            task, split and the reader's skip / error counts.
    """
    from fgalign.data.readers import read_split, usable_or_raise

    rows, skipped = read_split(task, require(cfg.data.root, "data.root"), split, cfg.data)
    cut = limit if limit is not None and len(rows) > limit else None
    rows = rows[:cut] if cut is not None else rows
    usable_or_raise(task, split, rows, skipped, cut)
    root = cfg.data.root
    for r in rows:
        rel = r.get("image_path") or ""
        r["image_key"] = image_key(rel, r.get("given_boxes"),
                                   r.get("object_names") if task == "vcr" else None,
                                   file_identity(root, rel) if rel else "")
    return rows


def prepare_task(cfg: Config, task: str, runner: Runner | None = None, calibrate: bool = True
                 ) -> dict[str, Any]:
    """Once per task: plain data the stages and ``finalize`` need; builds no model.

    VQA: answer vocabulary of the train split, and with ``tasks.vqa.yes_no="threshold"`` the
    yes/no thresholds fitted on the scored, unlabelled val questions. SNLI-VE: train label prior
    and the text-only classifiers (``fgalign.tasks.fit``). VCR: train answer / rationale
    position priors. Scoring calibration rows goes through ``runner`` (the executor that
    evaluates: Ray actors under the pipeline), whose caches keep them.

    ``calibrate=False`` stops after the train statistics (what statements need).

    Raises:
        ValueError: calibration is needed and no runner was given.
    """
    _check_task(task)
    train = read_rows(cfg, task, cfg.data.train_split, None)
    ctx: dict[str, Any] = {"task": task}
    calibrate = calibrate and ((task == "vqa" and cfg.tasks.vqa.yes_no == "threshold")
                               or task == "snli_ve")
    needs_runner = calibrate
    if needs_runner and runner is None:
        raise ValueError(f"prepare_task({task!r}): calibration runs need a Runner")
    if task == "vqa":
        from fgalign.tasks.retrieve import answer_counts
        from fgalign.tasks.vqa import fit_yes_no, prepare_vqa, yes_prior

        ctx["vqa"] = prepare_vqa(train, cfg.tasks.vqa.answer_vocab_size)
        ctx["vqa"]["prefix_counts"] = answer_counts(train, ctx["vqa"]["answer_vocab"])
        if calibrate:
            (split, val), = calibration_rows(cfg, task)
            run = runner.run_split(task, split, val, ctx)
            cols = ["error", "candidates", "answer_type_inferred", "question_prefix"] + [
                f"vscore_{v}" for v in variant_names(cfg.align)]
            ctx["vqa"]["yes_no"] = fit_yes_no(run.iter_rows(cols), variant_names(cfg.align),
                                              yes_prior(train))
    elif task == "snli_ve":
        from fgalign.tasks.fit import fit_snli_ve

        ctx["prior"] = np.bincount([r["target"] for r in train if r["target"] >= 0],
                                   minlength=3).tolist()
        if calibrate:
            ctx["snli_ve"] = fit_snli_ve(cfg, ctx, runner, train)
    else:
        ctx["prior"] = np.bincount([r["target"] for r in train if r["target"] >= 0],
                                   minlength=4).tolist()
        ctx["prior_r"] = np.bincount([r["rationale_label"] for r in train
                                      if r["rationale_label"] >= 0], minlength=4).tolist()
    return ctx


def calibration_rows(cfg: Config, task: str) -> list[tuple[str, list[dict]]]:
    """The image-bearing input sets ``prepare_task`` scores to calibrate ``task``: (name, rows).

    VQA (``yes_no="threshold"``): the yes/no questions among the first ``val_limit`` val
    questions (unlabelled use); SNLI-VE: the first ``val_limit`` val rows; VCR: none.
    """
    if task == "vqa" and cfg.tasks.vqa.yes_no == "threshold":
        val = load_task_rows(cfg, task, {}, cfg.data.val_split, cfg.tasks.vqa.val_limit)
        return [(f"{cfg.data.val_split}:yes-no",
                 [r for r in val if r["answer_type_inferred"] == "yes/no"])]
    if task == "snli_ve":
        return [(cfg.data.val_split, load_task_rows(cfg, task, {}, cfg.data.val_split,
                                                    cfg.tasks.snli_ve.val_limit))]
    return []


def add_statements(cfg: Config, task: str, ctx: dict, rows: list[dict]) -> list[dict]:
    """Apply the task adapter: ``statements``, ``cand_group``, ``labels`` (+ task extras).

    VQA rows get only ``answer_type_inferred`` and ``question_prefix`` here: their candidates
    and statements are made by the ``candidates`` stage (``fgalign.tasks.retrieve``), so the
    driver never holds rows × candidates.
    """
    if task == "vqa":  # candidates and statements: the ``candidates`` stage (retrieval)
        from fgalign.tasks.vqa import infer_answer_type, question_prefix

        for r in rows:
            r["answer_type_inferred"] = infer_answer_type(r["text"])
            r["question_prefix"] = question_prefix(r["text"])
        return rows
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


def _spec(cfg: Config, name: str, cls: type, kwargs: dict[str, Any]) -> StageSpec:
    hashed = {k: v for k, v in kwargs.items() if k not in UNHASHED}
    return StageSpec(name, cls, kwargs, cfg.ray.stages.get(name, StageResources()),
                     config_hash({"stage": name, "cls": cls.__name__,
                                  "version": getattr(cls, "VERSION", 1),
                                  "fgalign": fgalign.__version__, **hashed}),
                     cfg.ray.row_failures)


def proposer_of(cfg: Config, task: str) -> str:
    """The region proposer of ``task`` (VCR may use its dataset boxes)."""
    if task == "vcr" and cfg.tasks.vcr.proposer:
        return cfg.tasks.vcr.proposer
    return cfg.regions.proposer


def build_image_specs(cfg: Config, task: str, tables: dict[str, str]) -> list[StageSpec]:
    """The per-image stages of ``task``: ``regions``, ``images``."""
    from fgalign.embed import ImageEmbedder
    from fgalign.regions.stage import RegionProposer

    root = require(cfg.data.root, "data.root")
    return [
        _spec(cfg, "regions", RegionProposer, {
            "root": root, "proposer": proposer_of(cfg, task), "params": dict(cfg.regions.params),
            "max_regions": cfg.regions.max_regions, "min_score": cfg.regions.min_score}),
        _spec(cfg, "images", ImageEmbedder, {
            "root": root, "model": to_dict(cfg.model), "tables": tables,
            "context_pad": cfg.regions.context_pad, "tag_vocab": cfg.regions.tag_vocab}),
    ]


def text_embed_spec(cfg: Config, tables: dict[str, str]) -> StageSpec:
    """The ``embed`` stage (statements and keywords into the text table of the backbone)."""
    from fgalign.embed import TextEmbedder

    return _spec(cfg, "embed", TextEmbedder, {"model": to_dict(cfg.model), "tables": tables,
                                              "max_keywords": cfg.keywords.max_keywords})


def build_row_specs(cfg: Config, task: str, ctx: dict, tables: dict[str, str],
                    image_records: list[str] | None = None) -> list[StageSpec]:
    """The per-row stages of ``task``: (VQA: ``candidates``), ``keywords``, ``embed``, ``score``.

    ``image_records``: cache paths of the ``images`` stage the scorer reads boxes and tags
    from (filled in by the ``Runner``; not hashed: the image stages' hashes are chained).
    """
    from fgalign.align.stage import AlignmentScorer
    from fgalign.keywords.stage import KeywordExtractor
    from fgalign.tasks.retrieve import CandidateRetriever

    _check_task(task)
    first = []
    if task == "vqa":
        vq = cfg.tasks.vqa
        first = [_spec(cfg, "candidates", CandidateRetriever, {
            "vqa": {k: v for k, v in ctx["vqa"].items() if k != "yes_no"}, "tables": tables,
            "k": vq.k, "prompt": vq.retrieval_prompt, "tau": vq.retrieval_tau,
            "prior_weight": vq.retrieval_prior_weight, "type_filter": vq.type_filter,
            "prefix_filter": vq.prefix_filter, "converter": vq.converter,
            "converter_kwargs": {"model": vq.t5_model} if vq.converter == "t5" else {},
            "oracle": vq.oracle})]
    return first + [
        _spec(cfg, "keywords", KeywordExtractor, {"extractor": cfg.keywords.extractor,
                                                  "max_keywords": cfg.keywords.max_keywords}),
        text_embed_spec(cfg, tables),
        _spec(cfg, "score", AlignmentScorer, {
            "task": task, "align": to_dict(cfg.align), "ctx": ctx,
            "tag_filter": cfg.tasks.vqa.tag_filter, "tables": tables,
            "image_records": list(image_records or []),
            "max_keywords": cfg.keywords.max_keywords}),
    ]


