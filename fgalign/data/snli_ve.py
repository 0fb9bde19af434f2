"""SNLI-VE reader: ``snli_ve_{split}.jsonl`` → unified rows.

The file and its fields: ``fgalign.data.formats.snli_ve`` (read through its ``read_split``).
The Flickr30k image id is read under either spelling found in the wild: ``Flikr30kID``
("123.jpg", original release) or ``Flickr30K_ID`` ("123", newer generator; ".jpg" is
appended unless it has an extension).
Images: ``{snli_ve_images_dir}/<id>.jpg`` relative to the root.

Lines with gold_label "-" (no annotator majority) are skipped and counted, as the dataset
intends; a line without gold_label (absent or null: an unannotated split) is an unlabelled
row (target -1), not an error; every other bad line becomes an error row.

Row columns: the common schema (text = hypothesis, candidates = SNLI_VE_LABELS, target =
label index) plus premise and pair_id.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from fgalign.config import DataCfg
from fgalign.data.formats import snli_ve
from fgalign.data.paths import (
    RowError,
    base_row,
    clean_record,
    error_row,
    need,
    need_text,
    safe_relpath,
)
from fgalign.schema import SNLI_VE_LABELS

TASK = "snli_ve"
SKIP_NO_MAJORITY = f"gold_label '{snli_ve.NO_MAJORITY}'"  # skip reason: no annotator majority
IMAGE_ID_KEYS = snli_ve.IMAGE_ID_KEYS


def image_file_name(obj: dict) -> str:
    """The image file name from either id spelling ("123.jpg" or "123" → "123.jpg")."""
    for key in IMAGE_ID_KEYS:
        if key in obj and obj[key] is not None:
            value = obj[key]
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise RowError("bad_field")
            value = value.strip()
            return value if posixpath.splitext(value)[1] else value + ".jpg"
    raise RowError("missing_field")


def _parse(obj: dict, split: str, cfg: DataCfg) -> dict[str, Any]:
    pair_id = need(obj, "pairID", str)
    row = base_row(TASK, split, pair_id)
    row["pair_id"] = pair_id
    row["premise"] = need(obj, "sentence1", str)
    row["text"] = need_text(obj, "sentence2")
    row["candidates"] = list(SNLI_VE_LABELS)
    label = obj.get("gold_label")
    if label is not None:  # absent / null: unlabelled (target stays -1)
        if label not in SNLI_VE_LABELS:
            raise RowError("bad_label")
        row["target"] = SNLI_VE_LABELS.index(label)
    row["image_path"] = safe_relpath(cfg.snli_ve_images_dir, image_file_name(obj))
    return row


def read_snli_ve(root: str | Path, split: str,
                 data_cfg: DataCfg | None = None) -> tuple[list[dict], dict[str, int]]:
    """Read one SNLI-VE split.

    Returns:
        ``(rows, skipped)``: rows in file order (error rows included), and the lines skipped
        by reason (``{SKIP_NO_MAJORITY: count}``, empty when none was skipped).

    Raises:
        FileNotFoundError: ``snli_ve_{split}.jsonl`` is missing under ``root``.
    """
    root, cfg = Path(root), data_cfg or DataCfg()
    rows, skipped = [], 0  # lines with gold_label "-"
    for lineno, obj in snli_ve.read_split(root, split):
        if obj is None:
            rows.append(error_row(TASK, split, f"line{lineno}", "malformed_json"))
            continue
        if obj.get("gold_label") == snli_ve.NO_MAJORITY:
            skipped += 1
            continue
        try:
            rows.append(_parse(clean_record(obj), split, cfg))
        except RowError as e:
            pair_id = obj.get("pairID")
            pair_id = pair_id if isinstance(pair_id, str) and pair_id else None
            partial = {k: v for k, v in (("pair_id", pair_id), ("premise", obj.get("sentence1")),
                                         ("text", obj.get("sentence2"))) if isinstance(v, str)}
            rows.append(error_row(TASK, split, pair_id or f"line{lineno}", e.reason, partial))
    return rows, ({SKIP_NO_MAJORITY: skipped} if skipped else {})
