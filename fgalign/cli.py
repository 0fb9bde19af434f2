"""The ``fgalign`` command line (also ``python -m fgalign``).

Each subcommand lives in ``fgalign/commands/<name>.py`` and exposes ``add_parser(subparsers)``,
which registers its arguments and sets ``func(args) -> int``. Heavy imports happen inside
``func``, so ``fgalign --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules, in help order.
COMMANDS = [
    "ablate",
    "adapt",
    "bench",
    "data",
    "eval_vqa",
    "evaluate",
    "probe",
    "report",
    "run",
    "sweep",
    "synth",
    "train_backbone",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fgalign",
        description="Fine-grained zero-shot VQA / SNLI-VE / VCR with CLIP, on Ray.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"fgalign.commands.{name}").add_parser(sub)
    return parser


def add_config_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The shared ``--config FILE [--set key=value ...]`` pair."""
    p.add_argument("--config", required=required, help="YAML experiment config")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set model.name=ViT-B-32 (repeatable)",
    )


def main(argv: list[str] | None = None) -> int:
    from fgalign.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, FileNotFoundError) as e:
        print(f"fgalign {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
