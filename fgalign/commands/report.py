"""``fgalign report RUN_DIR``: write report.md and report.html into a result folder.

RUN_DIR is a run folder (``runs/<experiment>/<hash>``, with metrics.json), a sweep folder
(best.json), an ablation folder (ablation.csv) or an adaptation folder (result.json). The
report gathers the config, the tables, the figures and the commands that made them.
"""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="report.md / report.html of a run, sweep or ablation",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="run, sweep, ablation or adapt folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fgalign.experiment.report import write_report

    path = write_report(args.run_dir)
    print(path)
    return 0
