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

import argparse
import sys

from fgalign.commands.bench import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
