"""``fgalign data stats|head|check|make-photo-set``: read a dataset split in its official format
and report on it; check a root against the official layout; or write small VQAv2 / SNLI-VE /
VCR sets around real sample photos.

    fgalign data stats --task vqa --root /data/vqa --split val2014 --json
    {"rows": 214354, "errors": 0, "error_reasons": {}, "missing_images": 0, "skipped": {}}
    fgalign data head --task vcr --root /data/vcr --split val -n 3
    fgalign data stats --task vqa --root W --split test     # W from `fgalign synth --out W`

    fgalign data check --task vqa --root /data/vqa --split val2014   # exit 1: something missing
    fgalign data check --task vcr --root /data/vcr          # the official splits present there

    fgalign data make-photo-set --out /tmp/photos     # /tmp/photos/{vqav2,snli_ve,vcr}
    fgalign evaluate --config configs/vqav2.yaml --set data.root=/tmp/photos/vqav2 ...

Image folders / file names: a synthetic world's root (one with ``world.json``, written by
``fgalign synth``) records its own layout and is read with it; a real dataset's come from the
``data`` section of ``--config`` (with ``--set`` overrides), else from the DataCfg defaults.
"""
from __future__ import annotations

import argparse
import json
import sys

from fgalign.cli import TASK_METAVAR, add_config_args, task_arg


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, type=task_arg, metavar=TASK_METAVAR,
                   help="dataset to read")
    p.add_argument("--root", required=True, help="dataset root folder")
    p.add_argument("--split", required=True, help="split name (e.g. val2014, dev, val)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_config_args(p, required=False)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="inspect or check a dataset (stats, head, check)")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    stats = sub.add_parser("stats", help="rows read, rows with errors (by reason), missing images")
    _add_common(stats)
    stats.set_defaults(func=run_stats)
    head = sub.add_parser("head", help="the first rows in the unified schema")
    _add_common(head)
    head.add_argument("-n", type=int, default=3, help="number of rows (default 3)")
    head.set_defaults(func=run_head)
    check = sub.add_parser("check", help="check a root against the official layout: files, "
                           "image folders, images, counts, checksums (fgalign.data.check)")
    check.add_argument("--task", required=True, choices=["vqa", "snli_ve", "vcr"],
                       help="dataset layout to check")
    check.add_argument("--root", required=True, help="dataset root folder")
    check.add_argument("--split", action="append", help="split to check (repeatable; default: "
                       "the official splits present under the root, or a world's own)")
    check.add_argument("--json", action="store_true", help="print one JSON list of reports")
    add_config_args(check, required=False)
    check.set_defaults(func=run_check)
    photos = sub.add_parser("make-photo-set", help="small VQAv2 / SNLI-VE / VCR sets around real "
                            "sample photos (needs scikit-image; fgalign.data.photo_sets)")
    photos.add_argument("--out", required=True, help="folder to write vqav2/, snli_ve/, vcr/ in")
    photos.add_argument("--large-side", type=int, default=4000,
                        help="long side in pixels of the upsampled 'large' photo (default 4000)")
    photos.add_argument("--json", action="store_true", help="print the manifest as JSON")
    photos.set_defaults(func=run_make_photo_set)


def _read(args: argparse.Namespace):
    from fgalign.data import DataFileError
    from fgalign.data.synth.manifest import WorldFormatError
    from fgalign.load import load_config
    from fgalign.tasks import read_task_report

    data_cfg = load_config(args.config, args.overrides).data  # ConfigError → exit 2 in cli
    try:
        return read_task_report(args.task, args.root, args.split, data_cfg)
    except (DataFileError, WorldFormatError) as e:
        print(f"fgalign data: error: {e}", file=sys.stderr)
        return None


def run_stats(args: argparse.Namespace) -> int:
    """Print the read report of one split; exit 0 even when rows have errors (they are data)."""
    got = _read(args)
    if got is None:
        return 2
    report = got[1]
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.task} {args.split} at {args.root}")
    print(f"  rows:           {report['rows']}")
    print(f"  errors:         {report['errors']}")
    for reason, count in report["error_reasons"].items():
        print(f"    {reason}: {count}")
    print(f"  missing images: {report['missing_images']}")
    for why, count in report["skipped"].items():
        print(f"  skipped:        {count} ({why})")
    return 0


def run_head(args: argparse.Namespace) -> int:
    """Print the first ``n`` rows (JSON list with --json, else one indented JSON per row)."""
    got = _read(args)
    if got is None:
        return 2
    rows = got[0][: max(args.n, 0)]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(json.dumps(row, indent=2))
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Print each split's report (what is there, what is missing, where the download is);
    exit status 1 when something is missing."""
    from fgalign.data.check import check_layout, default_splits
    from fgalign.load import load_config

    data_cfg = load_config(args.config, args.overrides).data
    splits, absent = (args.split, []) if args.split else default_splits(args.task, args.root)
    reports = [check_layout(args.task, args.root, split, data_cfg, checksums=i == 0)
               for i, split in enumerate(splits)]  # a checksum covers the whole root
    if args.json:
        print(json.dumps([r.to_dict() for r in reports]))
    else:
        print("\n".join(r.format() for r in reports))
        if absent:
            print(f"not downloaded (not checked; --split S checks one): {', '.join(absent)}")
    return 0 if all(r.ok for r in reports) else 1


def run_make_photo_set(args: argparse.Namespace) -> int:
    """Write the three photo sets; print where and how many rows (or the manifest)."""
    from fgalign.data.photo_sets import make_photo_sets

    try:
        manifest = make_photo_sets(args.out, args.large_side)
    except ImportError as e:
        print(f"fgalign data: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(manifest))
        return 0
    for name, m in manifest.items():
        counts = m.get("questions") or m.get("pairs")
        print(f"{name:8} {m['root']}  images {len(m['images'])}  rows "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
