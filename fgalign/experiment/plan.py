"""The stage graph, shared by in-process ``fgalign evaluate`` and the Ray pipeline.

    runner = make_runner(cfg, LocalExecutor())      # or RayExecutor (fgalign.ray.executor)
    ctx = prepare_task(cfg, task, runner)           # train statistics + calibration runs
    run = runner.run_split(task, cfg.data.split, load_task_rows(cfg, task, ctx), ctx)
    result = finalize(cfg, task, ctx, run)          # fgalign.experiment.finalize: streams run.path

``TaskRunner`` is the engine's ``Runner`` with this module's plan: it turns each
``RunRequest`` (task, rows, context) into a ``StageSet`` of finished specs and hands those
down; the engine never calls back up for a spec.

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
- ``prepare_task`` builds no model: the calibration input sets the task names
  (``Task.calibration_runs``: VQA yes/no questions of unlabelled val, the SNLI-VE text-only
  train rows and val) run through the ``TaskRunner`` it is given, i.e. through the same
  executor, actors and caches as evaluation; ``Task.calibrate`` fits from the scored sets
  (pure functions of the rows); the task never calls a runner.

Columns ``load_task_rows`` adds (besides the unified row): ``image_key`` and what the task's
``add_statements`` adds: ``statements`` (C,), ``cand_group`` (C,) (VCR: 0 answers,
1 rationales), ``labels`` (gold index per group), VQA ``answer_type_inferred``, VCR
``statement_refs``. SNLI-VE rows have one statement (the hypothesis); its score columns are
(3,) class logits.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fgalign.align.stage import AlignmentScorer
from fgalign.config import Config, require, to_dict
from fgalign.embed import TextEmbedder
from fgalign.engine.cache import chain_hash
from fgalign.engine.gather import table_dirs
from fgalign.engine.runner import Executor, Runner, SplitRun, StageSet, cache_root
from fgalign.engine.spec import UNHASHED, StageSpec, make_spec  # noqa: F401  (re-exported)
from fgalign.keywords.stage import KeywordExtractor
from fgalign.schema import STAGE_NAMES  # noqa: F401  (re-exported)
from fgalign.tasks import get_task


@dataclass
class RunRequest:
    """One input set of a task for ``TaskRunner.run_sets`` (``Task.calibration_runs`` gives
    these fields as a dict)."""

    task: str
    split: str  # the input set's name (split, or split plus a calibration tag)
    rows: list[dict]  # unified rows with statements (``load_task_rows``)
    ctx: dict  # the task context (train statistics; VQA: the answer vocabulary)
    stop_after: str = "score"  # the last row stage (``embed`` for calibration / adaptation)
    text_only: bool = False  # rows without an image (SNLI-VE text-only training): no image stage


def prepare_task(cfg: Config, task: str, runner: TaskRunner | None = None,
                 calibrate: bool = True, runs: list[SplitRun] | None = None) -> dict[str, Any]:
    """Once per task: plain data the stages and ``finalize`` need; builds no model.

    The train split's statistics (``Task.train_context``: VQA's answer vocabulary, the answer
    priors), then, when the task calibrates (``Task.calibrates``: VQA yes/no thresholds on
    unlabelled val, SNLI-VE's text-only fit), its calibration input sets scored through
    ``runner`` (the executor that evaluates: Ray actors under the pipeline), whose caches keep
    them, and the fits (``Task.calibrate``, pure functions of the scored rows).

    ``calibrate=False`` stops after the train statistics (what statements need). ``runs``:
    the calibration sets already scored (the experiment's pass over every input set, in
    ``Task.calibration_runs`` order); then ``runner`` is not used.

    Raises:
        ValueError: unknown task; calibration is needed and neither a runner nor ``runs``
            was given; ``runs`` are not the task's calibration sets.
        EmptySplitError: the train split has no usable row.
    """
    t = get_task(task)
    train = t.read_rows(cfg, cfg.data.train_split, None)
    ctx: dict[str, Any] = {"task": task, **t.train_context(cfg, train)}
    if calibrate and t.calibrates(cfg):
        requests = [RunRequest(task, **r) for r in t.calibration_runs(cfg, ctx, train)]
        if runs is not None:
            if [r.split for r in runs] != [r.split for r in requests]:
                raise ValueError(f"prepare_task({task!r}): the scored sets "
                                 f"{[r.split for r in runs]} are not its calibration sets "
                                 f"{[r.split for r in requests]}")
        elif runner is None:
            raise ValueError(f"prepare_task({task!r}): calibration runs need a Runner")
        else:
            runs = runner.run_sets(requests)
        t.calibrate(cfg, ctx, train, runs)
    return ctx


def run_splits(cfg: Config) -> list[tuple[str, str]]:
    """(task, split) pairs a run reads: the evaluated split, train (statistics) and val when
    the task calibrates (``Task.calibrates``); ``fgalign.data.check.check_run_data`` checks
    their files before a run."""
    out = []
    for task in cfg.data.tasks:
        splits = [cfg.data.split, cfg.data.train_split]
        if get_task(task).calibrates(cfg):
            splits.append(cfg.data.val_split)
        out += [(task, s) for s in dict.fromkeys(splits)]
    return out


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


class TaskRunner(Runner):
    """The engine's ``Runner`` with ``cfg``'s plan: requests of tasks in, ``SplitRun`` s out.

    Args:
        cfg: the experiment config (stage specs, data root, cache root).
        executor: ``LocalExecutor`` or ``fgalign.ray.executor.RayExecutor``.
        force: recompute from this stage on (``fgalign.schema.STAGE_NAMES``).
    """

    def __init__(self, cfg: Config, executor: Executor, force: str | None = None):
        super().__init__(cache_root(cfg), executor, force)
        self.cfg = cfg

    def tables(self, task: str) -> dict[str, str]:
        """Embedding table directories of ``task`` (text: backbone; image: + region config)."""
        regions, images = build_image_specs(self.cfg, task, {})
        return table_dirs(self.cache.root, chain_hash(regions.hash, images.hash),
                          text_embed_spec(self.cfg, {}).hash)

    def stage_set(self, req: RunRequest) -> StageSet:
        """``req`` with its finished specs (row stages up to ``req.stop_after``)."""
        tables = self.tables(req.task)
        specs = build_row_specs(self.cfg, req.task, req.ctx, tables)
        specs = specs[: [s.name for s in specs].index(req.stop_after) + 1]
        images = [] if req.text_only else build_image_specs(self.cfg, req.task, tables)
        prompts = [] if req.text_only else get_task(req.task).prompt_texts(self.cfg, req.ctx)
        return StageSet(req.task, req.split, req.rows, self.cfg.data.root, specs, images, tables,
                        prompts, text_embed_spec(self.cfg, tables) if prompts else None,
                        {"max_keywords": self.cfg.keywords.max_keywords})

    def run_sets(self, requests: list[RunRequest],
                 on_ready: Callable[[int, SplitRun], None] | None = None,
                 compact: bool = True, row_order: list[int] | None = None,
                 check: Callable[[], None] | None = None) -> list[SplitRun]:
        """Every stage of every request, in at most two executions (``Runner.run``, which
        says what ``on_ready``, ``compact``, ``row_order`` and ``check`` do).

        Raises:
            StageError: a stage failed as a whole (completed stage outputs stay committed).
            Cancelled: ``check`` raised it (likewise).
        """
        return self.run([self.stage_set(r) for r in requests], on_ready, compact, row_order,
                        check)

    def run_split(self, task: str, split: str, rows: list[dict], ctx: dict,
                  stop_after: str = "score", text_only: bool = False) -> SplitRun:
        """One input set (``run_sets`` of one ``RunRequest``)."""
        return self.run_sets([RunRequest(task, split, rows, ctx, stop_after, text_only)])[0]

    def run_images(self, task: str, split: str, rows: list[dict]
                   ) -> tuple[list[str], dict[str, str]]:
        """The ``images`` shards covering every image of ``rows`` (computed when missing),
        and ``{image_key: error}`` of the images that failed (``Runner.run_image_set``)."""
        req = RunRequest(task, split, rows, {"task": task}, stop_after="embed")
        return self.run_image_set(self.stage_set(req))

    def region_shards(self, task: str) -> list[str]:
        """Committed shards of ``task``'s ``regions`` store (one row per image)."""
        return self.regions_of(build_image_specs(self.cfg, task, {}))


def make_runner(cfg: Config, executor: Executor, force: str | None = None) -> TaskRunner:
    """A ``TaskRunner`` of ``cfg``'s stage graph over ``executor`` (``force``: recompute from
    this stage on)."""
    return TaskRunner(cfg, executor, force)
