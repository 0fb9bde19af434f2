"""``fgalign predict --image PATH (--question Q [--answers a,b | --choices "A|B"] | --hypothesis H)``

Scores one image in this process (no Ray) with the config's backbone, region proposer and
keyword extractor (default ``configs/demo.yaml``; ``--config`` / ``--set`` as everywhere):

    fgalign predict --image coffee.jpg --question "What is in the cup?" --answers coffee,tea
    fgalign predict --image coffee.jpg --question "What is in the cup?"      # the vocabulary
    fgalign predict --image cat.jpg --hypothesis "A cat sleeps." --calibrate  # SNLI-VE
    fgalign predict --image scene.jpg --question "Why is he smiling?" --choices "A|B|C|D"

Prints the prediction and a table of every candidate's global, per-component and fused
(``fusion``) score; ``--json`` prints one JSON object (``prediction``, ``candidates``: list of
{text, statement, scores}, ``alignment``, ``note``); ``--figure OUT.png`` draws the best
candidate's keywords on the regions they attend to (a PNG of the image's size). What comes
from the config's dataset (answer vocabulary, calibration) is in ``fgalign.tasks.predict``; a
missing image, a file that is not an image or an empty text is one line and exit 2.
"""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fgalign.cli import add_config_args

    p = sub.add_parser("predict", help="score one image: VQA question, SNLI-VE hypothesis or "
                       "multiple choice", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, help="the photo (any format PIL reads)")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--question", help="VQA question (or the VCR question with --choices)")
    text.add_argument("--hypothesis", help="SNLI-VE hypothesis: entailment / neutral / "
                      "contradiction")
    opts = p.add_mutually_exclusive_group()
    opts.add_argument("--answers", help="VQA candidates, comma-separated (default: the "
                      "config's answer vocabulary, cut by retrieval as in a run)")
    opts.add_argument("--choices", help='VCR-style answer choices, "|"-separated')
    p.add_argument("--calibrate", action="store_true", help="fit a calibration the config's "
                   "stage cache lacks (SNLI-VE classes, VQA yes/no) on its dataset, as a run does")
    p.add_argument("--figure", metavar="OUT.png", help="write the region-word alignment figure")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_args(p, required=False)
    p.set_defaults(func=run, config=None)


def format_prediction(p) -> str:
    """The prediction, then one line per candidate (``*`` marks the prediction) with its
    scores, then the keyword → region alignment and the note."""
    lines = [f"{p.task}: {p.text}", f"prediction: {p.prediction if p.prediction is not None else '(none)'}",
             ""]
    keys = list(dict.fromkeys(k for c in p.candidates for k in c.scores))
    width = min(40, max([len(c.text) for c in p.candidates] + [9]))
    cols = {k: max(len(k), 9) for k in keys}
    lines.append(f"  {'candidate':{width}}  " + "  ".join(f"{k:>{cols[k]}}" for k in keys)
                 + "  statement")
    for c in p.candidates:
        mark = "*" if c.text == p.prediction else " "
        vals = "  ".join(f"{'-inf' if c.scores[k] is None else f'{c.scores[k]:.4f}':>{cols[k]}}"
                         for k in keys)
        lines.append(f"{mark} {c.text[:width]:{width}}  {vals}  {c.statement}")
    if p.alignment:
        lines.append("")
        lines.append("alignment: " + ", ".join(f"{a['keyword']} → region {a['region']} "
                                               f"(α={a['alpha']:.2f})" for a in p.alignment))
    if p.note:
        lines.append(f"note: {p.note}")
    if p.figure:
        lines.append(f"figure: {p.figure}")
    return "\n".join(lines)


def split_options(value: str | None, sep: str) -> list[str] | None:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (None stays None)."""
    return None if value is None else [o.strip() for o in value.split(sep) if o.strip()]


def run(args: argparse.Namespace) -> int:
    from fgalign.tasks.predict import DEFAULT_CONFIG, predict

    p = predict(args.image, args.question, hypothesis=args.hypothesis,
                answers=split_options(args.answers, ","),
                choices=split_options(args.choices, "|"), config=args.config or DEFAULT_CONFIG,
                overrides=args.overrides, figure=args.figure, calibrate=args.calibrate)
    print(p.to_json() if args.json else format_prediction(p))
    return 0
