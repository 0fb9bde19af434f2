"""The full experiment on Ray (= ``fgalign run``): VQA, SNLI-VE and VCR, region-word alignment.

    python pipelines/full.py --config configs/demo.yaml [--set align.tau=0.1] [--force embed]
    ray submit cluster.yaml pipelines/full.py -- --config configs/vqav2.yaml --set data.root=...

The loop is one hop away: ``fgalign.experiment.run.run_experiment`` (plan → runner → finalize
→ outputs in ``runs/<experiment>/<config hash>/``); the stages are ``fgalign.experiment.plan``.
"""
from __future__ import annotations

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign run`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["run", *(sys.argv[1:] if argv is None else argv)], prog="full.py")


if __name__ == "__main__":
    sys.exit(main())
