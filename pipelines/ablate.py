"""Ablation grid on Ray: scoring components × tasks × proposers × backbones (``fgalign ablate``).

Launch::

    python pipelines/ablate.py --config configs/ablations/demo.yaml
    ray submit cluster.yaml pipelines/ablate.py -- --config configs/ablations/demo.yaml

Each (proposer, backbone) fills its stage caches once (Ray Data; reused from
``pipelines/full.py`` runs with the same config), then each cell is one Ray task on cached
embeddings. Runtime on 2 CPU cores, demo world: a few seconds per component cell, 1-3 min per
``adapted`` cell (it trains leave-one-task-out), plus the embeddings when not cached.
Outputs: ablation.csv, ablation.md, ablation.png, scores.json, a W&B table; folder printed last.
"""
from __future__ import annotations

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign ablate`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["ablate", *(sys.argv[1:] if argv is None else argv)], prog="ablate.py")


if __name__ == "__main__":
    sys.exit(main())
