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

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign sweep`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["sweep", *(sys.argv[1:] if argv is None else argv)], prog="sweep.py")


if __name__ == "__main__":
    sys.exit(main())
