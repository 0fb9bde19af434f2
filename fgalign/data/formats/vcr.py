"""VCR: the official ``{split}.jsonl`` annotations and the ``vcr1images/`` image + metadata layout.

Source: https://visualcommonsense.com/download/ (Zellers et al. 2019), splits train / val /
test. One JSON object per line of ``{split}.jsonl``::

    {"movie": str, "objects": [class name, ...], "img_fn": "<movie>/<img>.jpg",
     "metadata_fn": "<movie>/<img>.json", "question": tokens,
     "answer_choices": [tokens] x 4, "answer_label": 0..3,
     "rationale_choices": [tokens] x 4, "rationale_label": 0..3,
     "annot_id": "val-0", "img_id": str, "question_number": int, "match_fold": str,
     "match_index": int, "interesting_scores": [int], "answer_likelihood": str,
     "question_orig" / "answer_orig" / "rationale_orig": str, ...}

``tokens`` is a list of words and object references, a reference being a list of 0-based
indices into ``objects`` (``["Why", "is", [0], "smiling", "?"]``). The test split has no labels.
Images and metadata live under ``vcr1images/`` (``img_fn`` / ``metadata_fn`` are relative to
it); the metadata ``vcr1images/<movie>/<img>.json``::

    {"boxes": [[x1, y1, x2, y2, score], ...],   # one per object, image pixels
     "segms": [[[[x, y], ...]], ...],            # polygons per object
     "names": [class name, ...], "width": int, "height": int}

    write_split(root, "val", [annotation(...)]); write_metadata(root, "m/i.json", meta)
    for lineno, obj in read_split(root, "val"): ...;  read_metadata(root, "m/i.json")["boxes"]
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fgalign.data.formats.jsonio import COMPACT, JsonStyle, record, write_json, write_jsonl
from fgalign.data.paths import iter_jsonl, load_json

FILE = "{split}.jsonl"
IMAGES_DIR = "vcr1images"
N_CHOICES = 4
FIELDS = ("movie", "objects", "interesting_scores", "answer_likelihood", "img_fn", "metadata_fn",
          "answer_orig", "question_orig", "rationale_orig", "question", "answer_choices",
          "answer_label", "rationale_choices", "rationale_label", "img_id", "question_number",
          "annot_id", "match_fold", "match_index")
METADATA_FIELDS = ("boxes", "segms", "names", "width", "height")


def split_file(root: str | Path, split: str) -> Path:
    """``root/{split}.jsonl``."""
    return Path(root) / FILE.format(split=split)


def annotation(**fields: Any) -> dict[str, Any]:
    """One line of ``{split}.jsonl`` from its official fields (``FIELDS``, in that order).

    Raises:
        ValueError: a field name that is not official.
    """
    return record(FIELDS, **fields)


def metadata(boxes: list[list[float]], scores: list[float], segms: list, names: list[str],
             width: int, height: int) -> dict[str, Any]:
    """One image's metadata: ``boxes`` [x1, y1, x2, y2] with their detector ``scores`` (stored
    as the fifth value), ``segms`` one list of polygons per object."""
    return record(METADATA_FIELDS, boxes=[[*b, s] for b, s in zip(boxes, scores, strict=True)],
                  segms=segms, names=names, width=width, height=height)


def write_split(root: str | Path, split: str, annotations: list[dict],
                style: JsonStyle = COMPACT) -> Path:
    """Write ``{split}.jsonl`` in ``root``, one line per question; returns its path."""
    return write_jsonl(split_file(root, split), annotations, style)


def write_metadata(images_root: str | Path, metadata_fn: str, meta: dict,
                   style: JsonStyle = COMPACT) -> Path:
    """Write ``meta`` at ``images_root/metadata_fn`` (``images_root``: the dataset's
    ``vcr1images`` folder); returns the path."""
    return write_json(Path(images_root) / metadata_fn, meta, style)


def read_split(root: str | Path, split: str) -> Iterator[tuple[int, dict | None]]:
    """``(line number, object)`` per non-blank line, ``object`` None for a malformed line.

    Raises:
        FileNotFoundError: ``{split}.jsonl`` is missing (naming it).
    """
    return iter_jsonl(split_file(root, split))


def read_metadata(path: str | Path) -> Any:
    """The parsed metadata file at ``path`` (unchecked).

    Raises:
        FileNotFoundError: the file is missing.  DataFileError: it is not JSON.
    """
    return load_json(Path(path))
