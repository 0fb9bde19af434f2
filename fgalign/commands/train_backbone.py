"""``fgalign train-backbone --data WORLD [--out DIR] [--steps N] [--seed S] [--no-wandb]``.

Trains the tiny open_clip CLIP from scratch on the world's caption corpus and writes
``DIR/<name>.safetensors`` + ``DIR/<name>.json`` (+ ``<name>_loss.png``), loadable with
``create_backbone("DIR/<name>.safetensors")``; the bundled ``shapes-tiny`` was made this way
(its JSON records the exact command). Same as ``python pipelines/train_backbone.py``.
W&B logs offline unless ``WANDB_API_KEY`` is set (``--no-wandb`` turns it off).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import fields

from fgalign.config import TrainBackboneCfg


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The trainer's flags: one per ``TrainBackboneCfg`` field, plus ``--no-wandb``."""
    p.add_argument("--data", required=True, help="world root (from `fgalign synth`)")
    for f in fields(TrainBackboneCfg):
        if f.name in ("data", "extra", "limit_images"):
            continue
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                       help=f"(default: {f.default})")
    p.add_argument("--limit-images", type=int, default=None, help="first N images only")
    p.add_argument("--probe-split", default="val",
                   help="probe the result on this split of the world ('' to skip)")
    p.add_argument("--run-dir", default="runs/train_backbone", help="W&B run folder")
    p.add_argument("--no-wandb", action="store_true", help="do not log to W&B")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-backbone", help="train the tiny CLIP backbone on the world",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Trains, logs, prints a summary; returns 0. ``argv`` is recorded as the command."""
    import json
    from pathlib import Path

    from fgalign.models.train import train_backbone

    values = {f.name: getattr(args, f.name) for f in fields(TrainBackboneCfg)
              if f.name != "extra"}
    world = Path(args.data) / "world.json"
    recipe = json.loads(world.read_text()) if world.is_file() else {}
    argv = args.argv if argv is None else argv
    cfg = TrainBackboneCfg(**values, extra={
        "command": "fgalign train-backbone " + shlex.join(argv),
        "world": {k: recipe.get(k) for k in ("seed", "images", "image_size", "format_version")},
    })
    logger = None if args.no_wandb else _wandb_logger(args.run_dir, cfg.name)
    if logger is not None:
        logger.log_config(vars(cfg))
    try:
        result = train_backbone(cfg, log=logger and (lambda m, s: logger.log_dict(m, step=s)),
                                progress=not args.no_progress)
        if args.probe_split:
            result["probe"] = _probe(result["weights"], args.data, args.probe_split)
        if logger is not None:
            logger.log_dict({k: result[k] for k in ("final_loss", "train_time_s", "cpu_time_s")}
                            | {"probe": result.get("probe", {})})
            logger.log_images("loss_curve", [result["loss_curve"]])
    finally:
        if logger is not None:
            logger.close()
    result.pop("losses")
    print(json.dumps(result, indent=1))
    return 0


def _probe(weights: str, data: str, split: str) -> dict:
    """Probe numbers of the fresh bundle on ``split`` of the training world."""
    from fgalign.models import create_backbone
    from fgalign.models.probe import probe_backbone

    result = probe_backbone(create_backbone(weights), data, split)
    return {"split": split, **result}


def _wandb_logger(run_dir: str, name: str):
    """A W&B logger (offline unless WANDB_API_KEY is set), or None when wandb is missing."""
    from fgalign.logging import WandbLogger

    try:
        return WandbLogger("fgalign-backbone", run_dir, name=name)
    except ImportError:
        print("wandb is not installed: logging to stdout only", file=sys.stderr)
        return None
