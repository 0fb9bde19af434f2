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

import argparse
import sys

from fgalign.commands.ablate import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
