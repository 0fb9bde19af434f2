"""Ray Tune sweep of the contrastive adaptation on cached embeddings (``fgalign sweep``).

Launch::

    python pipelines/sweep.py --config configs/sweeps/demo.yaml            # local Ray
    python pipelines/sweep.py --config configs/sweeps/demo.yaml --resume   # after a crash
    ray submit cluster.yaml pipelines/sweep.py -- --config configs/sweeps/demo.yaml

Runtime: the embedding caches are filled first (once; the demo world's sources + target take a
few minutes on 2 CPU cores, nothing when ``pipelines/full.py`` already ran), then
``num_samples`` trials of ~20-40 s each on 2 cores. Outputs: ``best.json`` (best config by
source-val score and its held-out target score), ``trials.csv``, checkpoints under ``tune/``,
W&B runs (offline without a key); the sweep folder is printed last.
"""
from __future__ import annotations

import argparse
import sys

from fgalign.commands.sweep import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
