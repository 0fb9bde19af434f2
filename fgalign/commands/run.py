"""``fgalign run --config FILE [--set k=v ...] [--force STAGE] [--no-wandb]``: the Ray pipeline.

The same function as ``python pipelines/full.py``: every task of the config through the Ray
Data stage graph (regions → keywords → embed → score actor pools, each stage cached as
Parquet), metrics on the driver, outputs in ``runs/<experiment>/<config hash>/``, a summary
table on stdout. ``--force STAGE`` recomputes that stage and every later one. A task whose
split has no usable row is skipped with a sentence saying why; exit status 1 when every task
was skipped. Before anything runs, the files and folders each split of the run reads are
checked (``fgalign.data.check.check_run_data``): a missing one stops the run with one line
naming it, the official download and ``fgalign data check`` (exit status 2).
"""
from __future__ import annotations

import argparse
from typing import Any

from fgalign.schema import STAGE_NAMES as STAGES


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``--config``, ``--set``, ``--force``, ``--no-wandb``."""
    from fgalign.cli import add_config_args

    add_config_args(p)
    p.add_argument("--force", choices=STAGES, default=None,
                   help="recompute this stage and all later ones even when cached")
    p.add_argument("--no-wandb", action="store_true", help="no W&B run (stdout only)")
    p.set_defaults(func=run)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the full pipeline on Ray (= pipelines/full.py)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)


def run(args: argparse.Namespace) -> int:
    """The command (``fgalign.cli.main`` calls it). Ray's start is undone by ``args.cleanup``,
    which ``main`` runs after it has printed an error, so the line comes at once and nothing
    outlives it."""
    from fgalign.ray.runtime import LazyRay

    early = early_ray(args.config, args.overrides)
    ray_start = LazyRay(early[0] if early else None)
    args.cleanup.append(ray_start.shutdown)
    if early and (args.force or early[1]):  # every stage will run: Ray starts now, beside
        ray_start.start_early()  # the imports, the data check, the world and the plan
    from fgalign.load import load_config

    cfg = load_config(args.config, args.overrides)  # a typo fails here, before any stage
    ray_start.ray_cfg = cfg.ray  # the same section (early: the file's, unchecked)
    return _run(args, cfg, ray_start)


def early_ray(path: str, overrides: list[str]) -> tuple[Any, bool] | None:
    """``(cfg.ray, whether the stage cache is empty)`` read from the config file and
    overrides alone, before ``load_config`` (which imports the tasks, and for an open_clip
    backbone name open_clip and torch: 4.4 s here), so that Ray can start meanwhile; None
    when either section does not validate (``load_config`` then says why, in one line), or
    when the output folder is unusable (``check_output_dir`` says why). A cache that cannot
    be listed (an object store without credentials yet) counts as not empty: Ray then
    starts when needed."""
    from pydantic import ValidationError

    from fgalign.config import (
        ConfigError,
        ExperimentCfg,
        RayCfg,
        apply_overrides,
        read_yaml_mapping,
    )
    from fgalign.engine.cache import cache_is_empty, stage_cache_root
    from fgalign.experiment.outputs import check_output_dir

    try:
        raw = apply_overrides(read_yaml_mapping(path), overrides or [])
        ray, experiment = (RayCfg.model_validate(raw.get("ray") or {}),
                           ExperimentCfg.model_validate(raw.get("experiment") or {}))
    except (ConfigError, ValidationError, OSError, ValueError, TypeError, AttributeError):
        return None
    try:
        check_output_dir(experiment.output_dir)  # unusable: no Ray (the check names it later)
    except Exception:  # noqa: BLE001
        return None
    try:
        return ray, cache_is_empty(stage_cache_root(ray, experiment))
    except Exception:  # noqa: BLE001 - any listing error: start Ray when needed, as before
        return ray, False


def _run(args: argparse.Namespace, cfg: Any, ray_start: Any) -> int:
    from fgalign.data.check import check_run_data
    from fgalign.experiment.plan import run_splits

    check_run_data(cfg, run_splits(cfg))  # DataLayoutError (one line, exit 2) before any stage
    if cfg.ray.address is None:  # a local cluster sees this machine's files and network
        from fgalign.models.weights import check_weights

        check_weights(cfg.model)
    from fgalign.commands.common import command_line
    from fgalign.experiment.outputs import check_output_dir, output_errors
    from fgalign.experiment.run import run_pipeline

    check_output_dir(cfg.experiment.output_dir)  # a file / read-only folder: one line, now
    with output_errors(cfg.experiment.output_dir):  # a full disk while writing: one line
        result = run_pipeline(cfg, force=args.force, use_wandb=False if args.no_wandb else None,
                              command=command_line(), ray=ray_start)
    tasks = result["metrics"]["tasks"].values()
    return 1 if all("skipped" in m for m in tasks) else 0  # every task skipped: nothing run
