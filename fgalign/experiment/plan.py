"""The stage graph, shared by in-process ``fgalign evaluate`` and the Ray pipeline.

    runner = make_runner(cfg, LocalExecutor())      # or RayExecutor (fgalign.ray.executor)
    ctx = prepare_task(cfg, task, runner)           # train statistics + calibration runs
    run = runner.run_split(task, cfg.data.split, load_task_rows(cfg, task, ctx), ctx)
    result = finalize(cfg, task, ctx, run)          # fgalign.experiment.finalize: streams run.path

Stages (``fgalign.schema.STAGE_NAMES``), each a plain callable over numpy dict-batches:

- once per **distinct image** (rows refer to it by ``image_key``, ``fgalign.engine.store``):
  ``regions`` (``RegionProposer``: boxes, scores, labels) and ``images`` (``ImageEmbedder``:
  image and crop embeddings into the image table, region tags into the text table);
- once per **row**: ``keywords`` (``KeywordExtractor``), ``embed`` (``TextEmbedder``: every
  statement and keyword not yet in the text table) and ``score`` (``AlignmentScorer``: gathers
  the embeddings of its batch from the tables, writes per-candidate scores only).

What differs between tasks comes from the task (``fgalign.tasks.get_task``): its reader and
statements (``load_task_rows``), its calibration (``prepare_task``), its region proposer, and
row stages of its own before ``keywords`` (VQA: ``candidates``). ``StageSpec`` and its hash:
``fgalign.engine.spec``.

- A stage never drops or reorders rows; a row with a non-empty ``error`` passes through untouched
  (new columns get empty values); a row failing inside a stage gets ``error="<stage>:<reason>"``.
- ``prepare_task`` builds no model: the calibration it needs (VQA yes/no thresholds on
  unlabelled val, the SNLI-VE text-only fit and its val statistics) runs through the
  ``Runner`` it is given, i.e. through the same executor, actors and caches as evaluation; the
  fits are pure functions of the scored rows.

Columns ``load_task_rows`` adds (besides the unified row): ``image_key`` and what the task's
``add_statements`` adds: ``statements`` (C,), ``cand_group`` (C,) (VCR: 0 answers,
1 rationales), ``labels`` (gold index per group), VQA ``answer_type_inferred``, VCR
``statement_refs``. SNLI-VE rows have one statement (the hypothesis); its score columns are
(3,) class logits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fgalign.align.stage import AlignmentScorer
from fgalign.config import Config, require, to_dict
from fgalign.embed import TextEmbedder
from fgalign.engine.runner import Executor, Runner
from fgalign.engine.spec import UNHASHED, StageSpec, make_spec  # noqa: F401  (re-exported)
from fgalign.keywords.stage import KeywordExtractor
from fgalign.schema import STAGE_NAMES  # noqa: F401  (re-exported)
from fgalign.tasks import get_task


def prepare_task(cfg: Config, task: str, runner: Runner | None = None, calibrate: bool = True
                 ) -> dict[str, Any]:
    """Once per task: plain data the stages and ``finalize`` need; builds no model.

    The train split's statistics (``Task.train_context``: VQA's answer vocabulary, the answer
    priors), then, when the task calibrates (``Task.calibrates``: VQA yes/no thresholds on
    unlabelled val, SNLI-VE's text-only fit), its calibration input sets scored through
    ``runner`` (the executor that evaluates: Ray actors under the pipeline), whose caches keep
    them, and the fits (``Task.calibrate``, pure functions of the scored rows).

    ``calibrate=False`` stops after the train statistics (what statements need).

    Raises:
        ValueError: unknown task, or calibration is needed and no runner was given.
        EmptySplitError: the train split has no usable row.
    """
    t = get_task(task)
    train = t.read_rows(cfg, cfg.data.train_split, None)
    ctx: dict[str, Any] = {"task": task, **t.train_context(cfg, train)}
    if calibrate and t.calibrates(cfg):
        if runner is None:
            raise ValueError(f"prepare_task({task!r}): calibration runs need a Runner")
        t.calibrate(cfg, ctx, train, runner)
    return ctx


def calibration_rows(cfg: Config, task: str) -> list[tuple[str, list[dict]]]:
    """The image-bearing input sets ``prepare_task`` scores to calibrate ``task``: (name, rows)."""
    return get_task(task).calibration_sets(cfg)


def load_task_rows(cfg: Config, task: str, ctx: dict, split: str | None = None,
                   limit: int | None = -1) -> list[dict]:
    """Rows of ``split`` (default ``data.split`` with ``data.limit``) with the task's statements."""
    return get_task(task).load_rows(cfg, ctx, split, limit)


def build_image_specs(cfg: Config, task: str, tables: dict[str, str]) -> list[StageSpec]:
    """The per-image stages of ``task``: ``regions`` (its proposer), ``images``."""
    # the regions package imports cv2 and the detectors: only a process that builds the
    # image stages loads it (scoring, adaptation, sweeps and ablations do not)
    from fgalign.regions.embed import ImageEmbedder
    from fgalign.regions.stage import RegionProposer

    root = require(cfg.data.root, "data.root")
    return [
        make_spec(cfg, "regions", RegionProposer, {
            "root": root, "proposer": get_task(task).proposer(cfg),
            "params": dict(cfg.regions.params), "max_regions": cfg.regions.max_regions,
            "min_score": cfg.regions.min_score}),
        make_spec(cfg, "images", ImageEmbedder, {
            "root": root, "model": to_dict(cfg.model), "tables": tables,
            "context_pad": cfg.regions.context_pad, "tag_vocab": cfg.regions.tag_vocab}),
    ]


def text_embed_spec(cfg: Config, tables: dict[str, str]) -> StageSpec:
    """The ``embed`` stage (statements and keywords into the text table of the backbone)."""
    return make_spec(cfg, "embed", TextEmbedder, {"model": to_dict(cfg.model), "tables": tables,
                                                  "max_keywords": cfg.keywords.max_keywords})


def build_row_specs(cfg: Config, task: str, ctx: dict, tables: dict[str, str],
                    image_records: list[str] | None = None) -> list[StageSpec]:
    """The per-row stages of ``task``: its own (``Task.row_stages``; VQA: ``candidates``),
    then ``keywords``, ``embed``, ``score``.

    ``image_records``: cache paths of the ``images`` stage the scorer reads boxes and tags
    from (filled in by the ``Runner``; not hashed: the image stages' hashes are chained).
    """
    t = get_task(task)
    return t.row_stages(cfg, ctx, tables) + [
        make_spec(cfg, "keywords", KeywordExtractor, {"extractor": cfg.keywords.extractor,
                                                      "max_keywords": cfg.keywords.max_keywords,
                                                      **dict(cfg.keywords.params)}),
        text_embed_spec(cfg, tables),
        make_spec(cfg, "score", AlignmentScorer, {
            "task": task, "task_module": type(t).__module__, "align": to_dict(cfg.align),
            "tag_filter": t.tag_filter(cfg), "tables": tables,
            "image_records": list(image_records or []),
            "max_keywords": cfg.keywords.max_keywords}),
    ]


@dataclass
class StagePlan:
    """The stage specs of ``cfg``'s tasks, handed to the ``Runner`` (``fgalign.engine.runner.
    Plan``): the engine runs specs, this module says which."""

    cfg: Config

    def image_specs(self, task: str, tables: dict[str, str]) -> list[StageSpec]:
        return build_image_specs(self.cfg, task, tables)

    def row_specs(self, task: str, ctx: dict, tables: dict[str, str],
                  image_records: list[str]) -> list[StageSpec]:
        return build_row_specs(self.cfg, task, ctx, tables, image_records)

    def embed_spec(self, tables: dict[str, str]) -> StageSpec:
        return text_embed_spec(self.cfg, tables)

    def prompt_texts(self, task: str, ctx: dict) -> list[str]:
        return get_task(task).prompt_texts(self.cfg, ctx)


def make_runner(cfg: Config, executor: Executor, force: str | None = None) -> Runner:
    """A ``Runner`` of ``cfg``'s stage graph over ``executor`` (``force``: recompute from
    this stage on)."""
    return Runner(cfg, executor, StagePlan(cfg), force)
