"""``fgalign evaluate --config FILE [--set key=value ...] [--json]``: in-process evaluation.

Runs every task of ``data.tasks`` through the stage graph in this process (no Ray), generating
the synthetic world first when ``data.synth.generate`` is on and ``data.root`` is missing.
Writes ``runs/<experiment>/<config hash>/`` (metrics.json, predictions.parquet,
vqa_results.json, figures/) and prints the table of variants — answer prior, global, each
fine-grained component added alone, fusion — with the paired-bootstrap 95% CI of
fusion − global; ``--json`` prints metrics.json instead. A task whose split has no usable
row is skipped with a sentence saying why; the exit status is 1 when every task was skipped.
"""
from __future__ import annotations

import argparse
import json
import shlex


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fgalign.cli import add_config_args

    p = sub.add_parser("evaluate", help="evaluate global vs fine-grained matching in-process",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p)
    p.add_argument("--json", action="store_true", help="print metrics.json instead of the table")
    p.add_argument("--no-figures", action="store_true", help="skip the alignment figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fgalign.load import load_config

    cfg = load_config(args.config, args.overrides)  # a typo fails here, before any stage runs
    from fgalign.data.check import check_run_data
    from fgalign.experiment.plan import run_splits
    from fgalign.models.weights import check_weights

    check_run_data(cfg, run_splits(cfg))  # the files every split reads: one line, exit 2

    check_weights(cfg.model)  # weights that cannot be had: one line, before any stage
    from fgalign.experiment.evaluate import evaluate
    from fgalign.experiment.finalize import format_table
    from fgalign.experiment.outputs import check_output_dir, output_errors

    check_output_dir(cfg.experiment.output_dir)  # a file / read-only folder: one line, now
    with output_errors(cfg.experiment.output_dir):  # a full disk while writing: one line
        metrics = evaluate(cfg, figures=not args.no_figures,
                           command=shlex.join(["fgalign", "evaluate", *getattr(args, "argv", [])]))
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_table(metrics))
        print(f"written to {metrics['run_dir']}")
    return 1 if all("skipped" in m for m in metrics["tasks"].values()) else 0
