"""The experiment loop, shared by the Ray pipeline and in-process ``fgalign evaluate``.

    result = run_pipeline(load_config("configs/demo.yaml"), force=None, use_wandb=False)
    result["metrics"]["tasks"]["vqa"]["variants"]["fusion"]["score"], result["run_dir"]

A run is one pass of the stage graph over every input set of every task together
(``input_sets``; ``fgalign.engine.runner.Runner``: one execution for the images, once each,
one for the rows: candidates → keywords → embed → score; each stage read from its cache when
its inputs are unchanged), then per task (``cfg.data.tasks``) the fit of its calibration
from its scored calibration sets (``prepare_cached``: VQA yes/no thresholds, SNLI-VE's
text-only classifier; pure functions, in this driver) and the streaming ``finalize_task``,
which applies the fit to the evaluated split's scores (``TaskSteps``: every task's fit,
then every task's finalize, in task order). The score stage applies no fit, so no second
pass waits for it. The executor is Ray Data actor pools (``run_pipeline``; Ray starts only
before the first stage that is not cached, or ``fgalign run`` begins its start early,
``LazyRay.start_early``; it is stopped in the background once the stage pass is done, and
``DriverWarmup`` loads the driver's steps' modules while the pools compute). On Ray the
rows execution takes the calibration sets first and a thread runs each task's fit and
finalize as soon as its sets are scored, while the pools score the rest; in process
(``fgalign evaluate``) they run after the pass. The driver builds no model in either (and,
on Ray, imports no open_clip). Writes into ``runs/<experiment>/<config hash>/``: ``config.yaml``, ``metrics.json``,
``predictions.parquet``, ``vqa_results.json``, ``figures/<task>_alignment.png``,
``stages.json`` (cache path, hash, rows, seconds and operators of every stage run, calibration
included), ``timings.json``, ``command.txt``, ``report.md`` / ``report.html``. Stage caches
live under ``ray.cache_dir`` (default ``runs/<experiment>/stages/``), shared by every run
folder of the experiment. Only this driver logs (stdout, and W&B unless disabled).
"""
from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from fgalign.align.stage import calibrate_rows
from fgalign.config import Config, config_hash, dump_yaml, require, to_dict
from fgalign.data import EmptySplitError
from fgalign.data.synth import resolve_world
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.engine.locks import folder_lock
from fgalign.engine.runner import Cancelled, LocalExecutor, SplitRun, StageRecord, cache_root
from fgalign.errors import error_text
from fgalign.experiment.figures import alignment_figure
from fgalign.experiment.finalize import (
    OutputWriter,
    finalize_task,
    format_table,
    run_dir,
    skipped_task,
)
from fgalign.experiment.outputs import atomic_write_text, remove_results, write_failure
from fgalign.experiment.plan import RunRequest, load_task_rows, make_runner, prepare_task
from fgalign.experiment.prepare import cached_context, prepare_cached
from fgalign.experiment.report import write_report
from fgalign.experiment.steps import TaskSteps
from fgalign.keywords.spacy_extractor import load_spacy
from fgalign.logging import create_logger
from fgalign.ray.runtime import LazyRay
from fgalign.tasks import get_task

__all__ = ["cache_root", "input_sets", "run_experiment", "run_pipeline", "stage_table"]


class DriverWarmup:
    """Loads, in a background thread, what this driver's own steps after the stage pass load
    on first use, while the actor pools compute (``fgalign run`` only: the driver is idle then;
    in process the stages it runs load the same modules).

    Those steps are the fits (torch itself: the plan before the executions does not import
    it, ``fgalign.align.columns``; ``torch.optim``'s first optimizer imports ``torch._dynamo``:
    about 3 s on one core here), the claim parse of the re-scored calibration rows and of the
    figures' rows (``align.claim_parser: spacy``: the spaCy model, 1-2 s) and the figures
    (``matplotlib.pyplot``). ``start`` is the runner's ``after_images`` hook: the warm-up
    begins once the images are committed, on the core the images pool no longer uses (with
    every image cached: once the rows' first chunk is back), not while the pools start.
    Errors are left to the step that needs the module.
    """

    def __init__(self, cfg: Config, figures: bool):
        self.cfg, self.figures = cfg, figures
        self.thread = threading.Thread(target=self._warm, name="fgalign-warm-driver",
                                       daemon=True)

    def _warm(self) -> None:
        try:
            import torch._dynamo  # noqa: F401

            if self.cfg.align.claim_parser == "spacy":
                load_spacy(None)
            if self.figures and self.cfg.logging.figures:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot
        except Exception:  # noqa: BLE001, S110 - the step that needs it raises it there
            pass

    def start(self) -> None:
        if self.thread.ident is None:
            self.thread.start()

    def join(self) -> None:
        if self.thread.ident is not None:
            self.thread.join()


def figure_rows(cfg: Config, task: str, ctx: dict, run: SplitRun, n: int) -> list[dict[str, Any]]:
    """The first ``n`` error-free scored rows of a run (an unreadable image's rows have
    nothing to draw), embeddings gathered and the fit applied (figures)."""
    rows = []
    for row in run.iter_rows():
        if row.get("error"):
            continue
        rows.append(row)
        if len(rows) >= n:
            break
    rows = hydrate(rows, ImageRecords(run.image_records), run.tables, cfg.keywords.max_keywords)
    return calibrate_rows(task, cfg.align, ctx, rows)


def input_sets(cfg: Config, root: str, force: bool, empty: dict[str, EmptySplitError],
               cached: dict[str, dict] | None = None
               ) -> tuple[list[RunRequest], dict[str, int]]:
    """Every input set of a run: each task's calibration sets (when its fit is not cached)
    and its evaluated split; returns the requests and, per task, the index of its evaluated
    split among them.

    All of them go through the stages together (``TaskRunner.run_sets``: one execution for the
    images, one for the rows); the score stage applies no fit, so the evaluated split is
    scored in the same pass as the sets its task calibrates on, and the fit is applied to
    its cached scores afterwards (``fgalign.experiment.finalize.calibration``).

    A task with an empty split has no input set; its ``EmptySplitError`` goes into ``empty``
    (task → error), so the task loop names and skips it without preparing it. A task whose
    context was cached (``cached_context``: no calibration set) has it in ``cached``.
    """
    out: list[RunRequest] = []
    evaluated: dict[str, int] = {}
    for task in cfg.data.tasks:
        try:
            t = get_task(task)
            ctx = None if force else cached_context(cfg, task, root)
            if ctx is not None and cached is not None:
                cached[task] = ctx
            if ctx is None and t.calibrates(cfg):
                train = t.read_rows(cfg, cfg.data.train_split, None)
                ctx = {"task": task, **t.train_context(cfg, train)}
                out += [RunRequest(task, **r) for r in t.calibration_runs(cfg, ctx, train)]
            ctx = ctx if ctx is not None else prepare_task(cfg, task, calibrate=False)
            rows = load_task_rows(cfg, task, ctx)  # EmptySplitError: no input set
            evaluated[task] = len(out)
            out.append(RunRequest(task, cfg.data.split, rows, ctx))
        except EmptySplitError as e:
            empty[task] = e
    return out, evaluated


def stage_table(records: list[StageRecord]) -> str:
    """Plain-text table of the stages: task, input set, stage, rows, seconds or 'cached'."""
    lines = [f"{'task':8} {'input':22} {'stage':9} {'rows':>7} {'time':>9}"]
    for r in records:
        lines.append(f"{r.task:8} {r.split[:22]:22} {r.stage:9} {r.rows:7d} "
                     f"{'cached' if r.cached else f'{r.seconds:8.1f}s':>9}")
    return "\n".join(lines)


def write_outputs(out: Path, metrics: dict, records: list[StageRecord], timings: dict,
                  command: str) -> None:
    """stages.json, timings.json, command.txt, metrics.json, report (predictions: the writer),
    each under a temporary name, then renamed (``fgalign.experiment.outputs.atomic_write_text``);
    metrics.json after the others, the report (which reads it) last."""
    atomic_write_text(out / "stages.json", json.dumps([r.to_dict() for r in records], indent=2))
    atomic_write_text(out / "timings.json", json.dumps(timings, indent=2))
    atomic_write_text(out / "command.txt", command + "\n")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    write_report(out)


def run_experiment(cfg: Config, use_ray: bool, force: str | None = None,
                   use_wandb: bool | None = None, figures: bool = True,
                   command: str = "python pipelines/full.py",
                   ray: LazyRay | None = None) -> dict[str, Any]:
    """Run every task of ``cfg``; returns ``{"metrics", "run_dir", "stages", "timings"}``.

    Args:
        cfg: the resolved experiment config.
        use_ray: Ray Data actor pools (True) or this process (False) execute the stages.
        force: recompute from this stage on (``fgalign.schema.STAGE_NAMES``).
        use_wandb: False turns W&B off; None follows ``cfg.logging.wandb``.
        figures: write the alignment figures (``logging.figures`` examples per task).
        command: the command line, recorded in the run folder.
        ray: the Ray start to use (``fgalign run`` begins it early, ``LazyRay.start_early``);
            None: one started before the first stage that is not cached. Shut down here.
    """
    t_start = time.perf_counter()
    require(cfg.data.root, "data.root")
    cfg = resolve_world(cfg)  # generate a missing world; read a world's layout + identity
    out = run_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    held = ExitStack()  # a second run of the same config waits for this one (one line)
    held.enter_context(folder_lock(str(out), "run folder"))
    (out / FAILED).unlink(missing_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    lazy_ray = ray or LazyRay(cfg.ray)  # started before the first stage that is not cached
    if use_ray:
        # Ray loads only for fgalign run (fgalign evaluate runs without it)
        from fgalign.ray.executor import RayExecutor

        executor: Any = RayExecutor(cfg.ray, lazy_ray.ensure)
    else:
        executor = LocalExecutor()
    runner = make_runner(cfg, executor, force)
    logger = None
    try:
        logger = create_logger(cfg.logging, out, f"{cfg.experiment.name}-{config_hash(cfg)}",
                               use_wandb, stdout=False)  # the summary below is the stdout log
        logger.log_config(to_dict(cfg))
        writer = OutputWriter(out)
        metrics: dict[str, Any] = {"config_hash": config_hash(cfg), "world": cfg.data.world,
                                   "tasks": {}}
        figs, timings = [], {"tasks": {}}
        empty: dict[str, EmptySplitError] = {}
        # Every input set of every task in one pass (images once, then rows); each task's
        # own steps (fit, metrics, figure) as soon as its sets are scored (TaskSteps).
        t0 = time.perf_counter()
        warm = DriverWarmup(cfg, figures) if use_ray else None
        runner.after_images = warm.start if warm is not None else None
        cached: dict[str, dict] = {}
        sets, evaluated = input_sets(cfg, runner.cache.root, force is not None, empty, cached)

        contexts: dict[str, dict] = {}  # per task, once fitted (absent: skipped)

        def fit(task: str, calibration: list[SplitRun]) -> None:
            """``task``'s context: its calibration fitted on its scored calibration sets
            (``prepare_cached``), or cached; an empty split skips the task."""
            t0 = time.perf_counter()
            try:
                if task in empty:  # named, not prepared: the same error the steps below raise
                    raise empty[task]
                if task in cached:
                    ctx, ctx_cached = cached[task], True
                else:
                    ctx, ctx_cached = prepare_cached(cfg, task, runner.cache.root,
                                                     force=force is not None, runs=calibration)
                timings["tasks"][task] = {"prepare_s": round(time.perf_counter() - t0, 2),
                                          "prepare_cached": ctx_cached}
            except EmptySplitError as e:  # named, not scored; the other tasks still run
                print(f"fgalign: task {task} skipped: {e}", file=sys.stderr, flush=True)
                metrics["tasks"][task] = skipped_task(cfg, e)
                return
            contexts[task] = ctx

        def finalize(task: str, run: SplitRun | None) -> None:
            """``task``'s metrics and predictions (the fit applied to its scores), figure."""
            if task not in contexts:  # skipped
                return
            t0, ctx = time.perf_counter(), contexts[task]
            metrics["tasks"][task] = finalize_task(cfg, task, ctx, run, writer)["metrics"]
            timings["tasks"][task]["finalize_s"] = round(time.perf_counter() - t0, 2)
            if figures and cfg.logging.figures:
                fig = alignment_figure(cfg, task, figure_rows(cfg, task, ctx, run,
                                                              cfg.logging.figures),
                                       out / "figures" / f"{task}_alignment.png")
                figs.extend([fig] if fig else [])

        scored = set(evaluated.values())
        fit_sets = {t: [i for i, r in enumerate(sets) if r.task == t and i not in scored]
                    for t in cfg.data.tasks}
        steps = TaskSteps(cfg.data.tasks, fit_sets, evaluated, fit, finalize,
                          background=use_ray)
        order = [i for i in range(len(sets)) if i not in scored] + sorted(scored)
        try:  # the calibration sets first: the fits may run while the rest is scored
            done = runner.run_sets(sets, on_ready=steps.ready, compact=False, row_order=order,
                                   check=steps.check)
        except BaseException as e:
            steps.stop()
            if isinstance(e, Cancelled) and steps.error is not None:
                raise steps.error from None  # a step beside the pass failed: its own error
            raise
        del sets
        lazy_ray.shutdown(wait=False)  # the steps below run here or in their thread
        timings["stages_s"] = round(time.perf_counter() - t0, 2)
        steps.finish(done)  # the steps not yet run, in task order; a step's error is raised
        if warm is not None:
            warm.join()
        runner.compact_tables(done)  # nothing reads the text tables any more
        del done
        metrics["tasks"] = {t: metrics["tasks"][t] for t in cfg.data.tasks}  # (skips: at fit)
        writer.close()
        timings["ray_init_s"] = round(lazy_ray.init_s, 2)  # the run's wait for Ray's start (0:
        # every stage cached); ray_start_s: the start itself (begun early: beside the planning)
        timings["ray_start_s"] = round(lazy_ray.start_s, 2)
        timings["executions"] = runner.executions  # executions that computed something
        timings["execution_timeline"] = runner.timeline  # wall (the first: with the Ray start,
        # ray_init_s), seconds in stages, pool start-up, per execution
        timings["total_s"] = round(time.perf_counter() - t_start, 2)
        records = runner.records
        write_outputs(out, metrics, records, timings, command)
        logger.log_dict({"metrics": {t: m.get("variants", {})  # {}: no labels / skipped
                                     for t, m in metrics["tasks"].items()},
                         "errors": {t: sum(m.get("errors", {}).values())
                                    for t, m in metrics["tasks"].items()},
                         "stages": {f"{r.task}/{r.split}/{r.stage}": {"seconds": r.seconds,
                                                                      "cached": int(r.cached)}
                                    for r in records},
                         "timings": timings})
        logger.log_table("predictions", sample_predictions(out, cfg.logging.sample_predictions))
        logger.log_images("alignment", figs)
        if use_ray:
            print(format_table(metrics), stage_table(records),
                  f"outputs: {out}  ({timings['total_s']:.0f} s, "
                  + (f"Ray start {lazy_ray.start_s:.0f} s, waited {lazy_ray.init_s:.0f} s)"
                     if lazy_ray.used
                     else "every stage cached: Ray started early, not used)" if lazy_ray.start_s
                     else "every stage cached: Ray not started)"),
                  sep="\n\n", file=sys.stdout, flush=True)
        return {"metrics": metrics, "run_dir": str(out), "stages": records, "timings": timings}
    except BaseException as e:  # the folder says the run failed, and why (no half outputs,
        # no metrics.json of this run or a previous one beside failed.txt)
        shutil.rmtree(out / ".predictions", ignore_errors=True)
        remove_results(out)
        write_failure(out / FAILED, error_text(e) + "\n")
        raise
    finally:
        if logger is not None:
            logger.close()
        lazy_ray.shutdown()
        held.close()


FAILED = "failed.txt"  # written into the run folder of a run that raised: "<error>: <message>"


def sample_predictions(out: Path, n: int) -> list[dict]:
    """The first ``n`` rows of ``predictions.parquet`` (the W&B predictions table)."""
    import pyarrow.parquet as pq

    path = out / "predictions.parquet"
    if not path.exists() or n <= 0:
        return []
    rows: list[dict] = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=n):  # across row groups (tasks)
        rows += batch.to_pylist()
        if len(rows) >= n:
            break
    return rows[:n]


def run_pipeline(cfg: Config, force: str | None = None, use_wandb: bool | None = None,
                 command: str = "python pipelines/full.py",
                 ray: LazyRay | None = None) -> dict[str, Any]:
    """Run every task of ``cfg`` on Ray; returns ``{"metrics", "run_dir", "stages", "timings"}``.

    Args:
        cfg: the resolved experiment config.
        force: recompute from this stage on (``regions``, ``images``, ``keywords``, ``embed``,
            ``score``).
        use_wandb: False turns W&B off; None follows ``cfg.logging.wandb``.
        command: the command line, recorded in the run folder.
        ray: a Ray start already begun (``fgalign.commands.run``); None: started when needed.
    """
    return run_experiment(cfg, use_ray=True, force=force, use_wandb=use_wandb, command=command,
                          ray=ray)
