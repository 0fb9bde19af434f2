"""``fgalign synth --out DIR [--seed S] [--images N] [--image-size PX]``: write the synthetic world.

Renders N scenes of coloured shapes and writes VQAv2, SNLI-VE and VCR files, a caption corpus
and scene graphs under DIR (layout in ``fgalign.data.synth.world``); prints ``world.json``.
600 images take a few seconds on one core.
"""
from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate the synthetic diagnostic world",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="world root directory to write")
    p.add_argument("--seed", type=int, default=0, help="world seed (same seed, same bytes)")
    p.add_argument("--images", type=int, default=600, help="number of scenes over all splits")
    p.add_argument("--image-size", type=int, default=128, help="square image side in pixels")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fgalign.data.synth import generate_world

    world = generate_world(args.out, seed=args.seed, images=args.images,
                           image_size=args.image_size, progress=not args.no_progress)
    print(json.dumps(world, indent=1, sort_keys=True))
    return 0
