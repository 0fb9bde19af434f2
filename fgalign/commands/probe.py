"""``fgalign probe --model NAME --data WORLD [--split test] [--json]``: probe a backbone.

Zero-shot accuracy of ground-truth object crops by colour, shape and colour+shape, and
image↔scene-caption retrieval R@1, on a synthetic world (``fgalign synth``); see
``fgalign.models.probe``. With ``--json`` prints
``{"crop_accuracy": {"color", "shape", "color_shape"}, "retrieval_r1": {"image_to_text",
"text_to_image"}, "n": {...}}`` (fractions in [0, 1]).
"""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="zero-shot probe of a backbone on the synthetic world",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="shapes-tiny", help="backbone name, arch or bundle path")
    p.add_argument("--pretrained", default=None, help="open_clip pretrained tag")
    p.add_argument("--checkpoint", default=None, help="local .safetensors / .pt weights")
    p.add_argument("--data", required=True, help="world root (from `fgalign synth`)")
    p.add_argument("--split", default="test", help="split to probe")
    p.add_argument("--pad", type=float, default=0.1, help="crop context, fraction of box side")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--batch-size", type=int, default=256, help="images / texts per forward")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from fgalign.errors import InputError
    from fgalign.load import backbone_problems

    for key, why in backbone_problems(args.model, args.pretrained):  # before loading anything
        flag = {"model.name": "--model", "model.pretrained": "--pretrained"}[key]
        raise InputError(f"{flag}: {why}")
    from fgalign.models import create_backbone
    from fgalign.models.probe import probe_backbone

    bb = create_backbone(args.model, pretrained=args.pretrained, checkpoint=args.checkpoint,
                         device=args.device)
    result = probe_backbone(bb, args.data, args.split, args.pad, args.batch_size)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    n = result["n"]
    print(f"{bb.name} on {args.data} [{args.split}]: {n['crops']} crops, {n['images']} images")
    for key, value in result["crop_accuracy"].items():
        print(f"  crop accuracy {key:<12} {100 * value:6.2f}%")
    for key, value in result["retrieval_r1"].items():
        print(f"  R@1 {key:<21} {100 * value:6.2f}%")
    return 0
