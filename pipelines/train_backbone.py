"""Train the bundled tiny CLIP backbone (``shapes-tiny``) on the synthetic world.

Launch (what made fgalign/assets/shapes-tiny.*; about 20 min on 2 CPU cores)::

    fgalign synth --out /tmp/world1234 --seed 1234 --images 3000
    python pipelines/train_backbone.py --data /tmp/world1234 --out fgalign/assets

Outputs: ``<out>/shapes-tiny.safetensors`` (weights, no pickle), ``<out>/shapes-tiny.json``
(open_clip model config, word vocabulary, preprocess, provenance: command, seed, world recipe,
training time, final loss), ``<out>/shapes-tiny_loss.png``; a W&B run under ``--run-dir``
(offline unless WANDB_API_KEY is set). Same flags as ``fgalign train-backbone``.
"""
from __future__ import annotations

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign train-backbone`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["train-backbone", *(sys.argv[1:] if argv is None else argv)], prog="train_backbone.py")


if __name__ == "__main__":
    sys.exit(main())
