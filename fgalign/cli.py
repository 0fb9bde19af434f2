"""The ``fgalign`` command line (also ``python -m fgalign``).

Each subcommand lives in ``fgalign/commands/<name>.py`` and exposes ``add_parser(subparsers)``,
which registers its arguments and sets ``func(args) -> int``. Heavy imports happen inside
``func``, so ``fgalign --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys

from fgalign.config import registered_task_names
from fgalign.errors import InputError
from fgalign.schema import BUILTIN_TASKS

# Subcommand modules, in help order.
COMMANDS = [
    "ablate",
    "adapt",
    "bench",
    "data",
    "eval_vqa",
    "evaluate",
    "listing",
    "predict",
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
    tidy_help(parser)
    return parser


def plain_text(text: str) -> str:
    """Help text without reStructuredText markup: ``x`` and :role:`x` become x."""
    text = re.sub(r":[\w.]+:`([^`]*)`", r"\1", text)
    return re.sub(r"``([^`]*)``", r"\1", text)


def tidy_help(parser: argparse.ArgumentParser, summary: str | None = None) -> None:
    """Every (sub)command's help as plain text (``plain_text``; module docstrings are the
    descriptions); a sub-command without a description gets its one-line summary."""
    if not parser.description and summary:
        parser.description = summary[:1].upper() + summary[1:] + "."
    if parser.description:
        parser.description = plain_text(parser.description)
    for action in parser._actions:
        if isinstance(action.help, str) and action.help != argparse.SUPPRESS:
            action.help = plain_text(action.help)
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                tidy_help(child, summaries.get(name))


def task_arg(name: str) -> str:
    """argparse ``type``: a built-in task or one registered in this process (the names of
    ``fgalign.config``'s task sections: ``fgalign --help`` imports no task or model code)."""
    if name not in registered_task_names():
        raise argparse.ArgumentTypeError(f"unknown task {name!r}; known: "
                                         f"{', '.join(registered_task_names())}")
    return name


TASK_METAVAR = "{" + ",".join(BUILTIN_TASKS) + ",...}"  # built-ins, or a registered task


def add_config_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    """The shared ``--config FILE [--set key=value ...]`` pair."""
    p.add_argument("--config", required=required, help="YAML experiment config")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set model.name=ViT-B-32 (repeatable)",
    )


def one_line(err: BaseException) -> str:
    """An error message on one line: a multi-line ``ConfigError`` (header, then one indented
    line per bad key) becomes ``header key: why; key: why``."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return " ".join(lines[:1] + ["; ".join(lines[1:])] if len(lines) > 1 else lines)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run one subcommand; a bad config or a missing file prints one line
    ``<prog>: error: <message>`` to stderr and returns 2 (no traceback).

    Args:
        argv: arguments (default ``sys.argv[1:]``), the subcommand first.
        prog: the name errors start with (default ``fgalign <subcommand>``); the
            ``pipelines/*.py`` entry points pass their file name.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv[1:]  # the subcommand's own arguments (recorded as provenance)
    args.cleanup = []  # a command's clean-up (fgalign run: undo an early Ray start), run
    try:  # after its error is printed, so the line comes at once and nothing outlives main
        return int(args.func(args) or 0)
    except (InputError, FileNotFoundError) as e:  # ConfigError, DataFileError, WorldFormatError
        print(f"{prog or 'fgalign ' + args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2
    finally:
        for done in args.cleanup:
            done()


if __name__ == "__main__":
    sys.exit(main())
