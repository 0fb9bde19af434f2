"""Performance ratios of the pipeline, measured side by side (writes BENCHMARKS.md).

Launch::

    python pipelines/benchmark.py --quick                  # smoke run: tiny data, test-tiny, minutes
    python pipelines/benchmark.py                          # full run on the demo's data size
    python pipelines/benchmark.py --only scoring embed     # some groups only

Expected runtime: quick ≈ 3-5 min, full ≈ 30-60 min on 2 CPU cores (it prints how long it
took). Outputs: the table on stdout; full runs rewrite the generated block of BENCHMARKS.md;
scratch (worlds, run folders, caches, pipeline logs) under ``runs/bench-<mode>/``.
Same flags as ``fgalign bench``.
"""
from __future__ import annotations

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign bench`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["bench", *(sys.argv[1:] if argv is None else argv)], prog="benchmark.py")


if __name__ == "__main__":
    sys.exit(main())
