"""The whole experiment on Ray: every task through the cached stage graph, outputs, logging.

    result = run_pipeline(load_config("configs/demo.yaml"), force=None, use_wandb=False)
    result["metrics"]["tasks"]["vqa"]["variants"]["fusion"]["score"], result["run_dir"]

Per task (``cfg.data.tasks``): ``prepare_task`` (cached, ``fgalign.ray.prepare``) and
``load_task_rows`` on the driver, then the
Ray Data graph (``fgalign.ray.graph``: regions → keywords → embed → score actor pools, each
stage read from its Parquet cache when its inputs are unchanged), then ``finalize`` on the
driver. Writes into ``runs/<experiment>/<config hash>/``: ``config.yaml``, ``metrics.json``
(the schema of ``fgalign evaluate``), ``predictions.parquet``, ``vqa_results.json``,
``figures/<task>_alignment.png``, ``stages.json`` (cache path, hash, rows, seconds and
operators of every stage), ``timings.json``, ``command.txt``, ``report.md`` / ``report.html``.
Stage caches live under ``ray.cache_dir`` (default ``runs/<experiment>/stages/``), shared by
every run folder of the experiment. Only this driver logs (stdout, and W&B unless disabled).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fgalign.config import Config, config_hash, dump_yaml, require, to_dict
from fgalign.ray.cache import StageCache, dataset_fingerprint, resolve_uri
from fgalign.ray.graph import StageRecord, run_task_graph
from fgalign.stages import HEAVY, batch_to_rows


def cache_root(cfg: Config) -> str:
    """``ray.cache_dir``, or ``<output_dir>/<experiment>/stages`` (shared by run folders)."""
    return cfg.ray.cache_dir or f"{cfg.experiment.output_dir}/{cfg.experiment.name}/stages"


def read_scored_rows(path: str, uids: list[str], keep_heavy: int) -> list[dict[str, Any]]:
    """A stage cache as row dicts in the order of ``uids`` (Parquet files come in any order).

    Read on the driver with pyarrow (no Ray job): the files' schemas are unified permissively
    (a block whose list cells were all empty has ``list<null>``), Ray's tensor types are
    converted to per-row ndarrays by Ray's block accessor. Embedding columns
    (``fgalign.stages.HEAVY``) are read for the first ``keep_heavy`` rows only (they feed the
    figures), as ``run_inprocess(..., keep_heavy=...)`` keeps them.
    """
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor  # also registers Ray's Arrow tensor types

    fs, where = resolve_uri(path)
    files = pads.dataset(where, filesystem=fs, format="parquet").files
    schema = pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in files],
                              promote_options="permissive")
    data = pads.dataset(files, schema=schema, filesystem=fs, format="parquet")
    light = [c for c in schema.names if c not in HEAVY]
    rows = batch_to_rows(BlockAccessor.for_block(data.to_table(columns=light)).to_numpy())
    if len(rows) != len(uids):
        raise RuntimeError(f"{path}: {len(rows)} rows, expected {len(uids)}")
    position = {u: i for i, u in enumerate(uids)}
    rows.sort(key=lambda r: position[str(r["uid"])])
    if keep_heavy:
        heavy = [c for c in schema.names if c in HEAVY] + ["uid"]
        table = data.to_table(columns=heavy, filter=pads.field("uid").isin(uids[:keep_heavy]))
        for r in batch_to_rows(BlockAccessor.for_block(table).to_numpy()):
            rows[position[str(r["uid"])]].update(r)
    return rows


def run_task(cfg: Config, task: str, cache: StageCache, force: str | None,
             before_compute: Callable[[], None] | None = None
             ) -> tuple[dict[str, Any], list[dict], list[StageRecord], dict[str, float]]:
    """One task: (finalize result, scored rows, stage records, seconds per driver phase).

    ``before_compute`` runs before the first stage that is not cached (see ``run_task_graph``).
    """
    from fgalign.ray.prepare import prepare_cached
    from fgalign.stages import build_stage_specs, finalize, load_task_rows

    t0 = time.perf_counter()
    ctx, ctx_cached = prepare_cached(cfg, task, cache.root, force=force is not None)
    rows = load_task_rows(cfg, task, ctx)
    t1 = time.perf_counter()
    specs = build_stage_specs(cfg, task, ctx)
    fp = dataset_fingerprint(cfg.data.root, cfg.data.split, cfg.data.limit, task, rows)
    path, records = run_task_graph(rows, specs, task, fp, cache, cfg.ray, force=force,
                                   before_compute=before_compute)
    t2 = time.perf_counter()
    scored = read_scored_rows(path, [r["uid"] for r in rows], cfg.logging.figures)
    result = finalize(cfg, task, ctx, scored)
    t3 = time.perf_counter()
    return result, scored, records, {"prepare_s": t1 - t0, "prepare_cached": ctx_cached,
                                     "stages_s": t2 - t1, "finalize_s": t3 - t2}


def write_outputs(cfg: Config, out: Path, metrics: dict, predictions: list[dict],
                  vqa_results: list[dict] | None, records: list[StageRecord],
                  timings: dict, command: str) -> None:
    """metrics.json, predictions.parquet, vqa_results.json, stages.json, timings.json, report."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fgalign.report import write_report

    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if predictions:
        keys = list(dict.fromkeys(k for r in predictions for k in r))
        pq.write_table(pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in predictions]),
                       out / "predictions.parquet")
    if vqa_results is not None:
        (out / "vqa_results.json").write_text(json.dumps(vqa_results))
    (out / "stages.json").write_text(json.dumps([r.to_dict() for r in records], indent=2))
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    (out / "command.txt").write_text(command + "\n")
    write_report(out)


def stage_table(records: list[StageRecord]) -> str:
    """Plain-text table of the stages: task, stage, rows, seconds or 'cached'."""
    lines = [f"{'task':8} {'stage':9} {'rows':>6} {'time':>9}"]
    for r in records:
        lines.append(f"{r.task:8} {r.stage:9} {r.rows:6d} "
                     f"{'cached' if r.cached else f'{r.seconds:8.1f}s':>9}")
    return "\n".join(lines)


def run_pipeline(cfg: Config, force: str | None = None, use_wandb: bool | None = None,
                 command: str = "python pipelines/full.py") -> dict[str, Any]:
    """Run every task of ``cfg`` on Ray; returns ``{"metrics", "run_dir", "stages", "timings"}``.

    Args:
        cfg: the resolved experiment config.
        force: recompute from this stage on (``regions``, ``keywords``, ``embed``, ``score``).
        use_wandb: False turns W&B off; None follows ``cfg.logging.wandb``.
        command: the command line, recorded in the run folder.
    """
    from fgalign.evaluate import format_table, run_dir
    from fgalign.logging import create_logger
    from fgalign.ray.runtime import LazyRay

    t_start = time.perf_counter()
    require(cfg.data.root, "data.root")
    from fgalign.data.synth import resolve_world

    cfg = resolve_world(cfg)  # generate a missing world; read a world's layout + identity
    out = run_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    lazy_ray = LazyRay(cfg.ray)  # started before the first stage that is not cached
    logger = None
    try:
        logger = create_logger(cfg.logging, out, f"{cfg.experiment.name}-{config_hash(cfg)}",
                               use_wandb, stdout=False)  # the summary below is the stdout log
        logger.log_config(to_dict(cfg))
        cache = StageCache(cache_root(cfg))
        metrics: dict[str, Any] = {"config_hash": config_hash(cfg),
                                   "world": cfg.data.world, "tasks": {}}
        predictions, records, figures = [], [], []
        vqa_results, timings = None, {"tasks": {}}
        for task in cfg.data.tasks:
            result, scored, task_records, phases = run_task(cfg, task, cache, force,
                                                             lazy_ray.ensure)
            metrics["tasks"][task] = result["metrics"]
            predictions += result["predictions"]
            records += task_records
            vqa_results = result.get("vqa_results", vqa_results)
            timings["tasks"][task] = {k: round(v, 2) if isinstance(v, float) else v
                                      for k, v in phases.items()}
            if cfg.logging.figures:
                from fgalign.viz import alignment_figure

                fig = alignment_figure(cfg, task, scored[: cfg.logging.figures],
                                       out / "figures" / f"{task}_alignment.png")
                figures += [fig] if fig else []
        timings["ray_init_s"] = round(lazy_ray.init_s, 2)  # 0: every stage was cached
        timings["total_s"] = round(time.perf_counter() - t_start, 2)
        write_outputs(cfg, out, metrics, predictions, vqa_results, records, timings, command)
        logger.log_dict({"metrics": {t: m["variants"] for t, m in metrics["tasks"].items()},
                         "errors": {t: sum(m["errors"].values())
                                    for t, m in metrics["tasks"].items()},
                         "stages": {f"{r.task}/{r.stage}": {"seconds": r.seconds,
                                                            "cached": int(r.cached)}
                                    for r in records},
                         "timings": timings})
        logger.log_table("predictions", predictions[: cfg.logging.sample_predictions])
        logger.log_images("alignment", figures)
        print(format_table(metrics), stage_table(records),
              f"outputs: {out}  ({timings['total_s']:.0f} s, "
              + (f"Ray start {lazy_ray.init_s:.0f} s)" if lazy_ray.up
                 else "every stage cached: Ray not started)"),
              sep="\n\n", file=sys.stdout, flush=True)
        return {"metrics": metrics, "run_dir": str(out), "stages": records, "timings": timings}
    finally:
        if logger is not None:
            logger.close()
        lazy_ray.shutdown()
