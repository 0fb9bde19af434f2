"""VCR reader: ``{split}.jsonl`` + per-image metadata JSON → unified rows.

The files and their fields: ``fgalign.data.formats.vcr`` (read through its ``read_split`` and
``read_metadata``). Texts are token lists in which an object reference is a list of 0-based
indices into ``objects`` (``["Why", "is", [0], "smiling", "?"]``). The test split has no
labels (→ -1). Image and metadata live at ``{vcr_images_dir}/<img_fn>`` and
``{vcr_images_dir}/<metadata_fn>``; the metadata ``boxes`` are ``[x1, y1, x2, y2, score]``,
one per object.

References are rendered readably, with one numbering of objects everywhere (text, figures,
the dataset's own ``*_orig`` texts): object ``i`` of ``objects`` is number ``i + 1``. The
class name plus that number when the class occurs more than once (objects [person, dog,
person] → "person 1", "the dog", "person 3"), "the <class>" when it is unique; several
references join as "person 1 and person 3" / "person 1, person 3 and the dog". The mapping
is kept (0-based positions): ``text_refs`` (question),
``candidate_refs`` (per answer) and ``rationale_refs`` (per rationale) list object indices
in order of first mention, and ``given_boxes[i]`` is the box of object ``i``.

Row columns: the common schema (text = question, candidates = 4 answers, target =
answer_label) plus annot_id, object_names, text_refs, candidate_refs, rationales,
rationale_refs, rationale_label. Errors: malformed_json, missing_field, bad_field,
bad_reference (index outside ``objects``), bad_label, unsafe_path, missing_metadata,
bad_metadata.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fgalign.config import DataCfg
from fgalign.data.formats import vcr
from fgalign.data.paths import (
    DataFileError,
    RowError,
    base_row,
    clean_record,
    error_row,
    need,
    safe_relpath,
)

TASK = "vcr"
N_CHOICES = vcr.N_CHOICES


def object_number(index: int) -> int:
    """The number object ``index`` (0-based position in ``objects``) is shown with: the
    dataset's own numbering (``*_orig`` texts), used in rendered texts and figures alike."""
    return index + 1


def object_labels(objects: list[str]) -> list[str]:
    """Readable label of each object: "person 3" (its ``object_number``) when its class
    repeats, else "the dog"."""
    totals = Counter(objects)
    return [f"{name} {object_number(i)}" if totals[name] > 1 else f"the {name}"
            for i, name in enumerate(objects)]


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def render_tokens(tokens: Any, labels: list[str]) -> tuple[str, list[int]]:
    """Render a VCR token list into text and the object indices it references.

    Raises:
        RowError("bad_field"): not a list of strings / index lists.
        RowError("bad_reference"): an empty reference or an index outside ``labels``.
    """
    if not isinstance(tokens, list) or not tokens:
        raise RowError("bad_field")
    words, refs = [], []
    for tok in tokens:
        if isinstance(tok, str):
            words.append(tok)
            continue
        if not isinstance(tok, list):
            raise RowError("bad_field")
        if not tok or not all(isinstance(i, int) and not isinstance(i, bool) for i in tok):
            raise RowError("bad_reference")
        if any(i < 0 or i >= len(labels) for i in tok):
            raise RowError("bad_reference")
        words.append(_join_names([labels[i] for i in tok]))
        refs.extend(i for i in tok if i not in refs)
    text = re.sub(r" ([.,!?;:])", r"\1", " ".join(words))  # no space before punctuation
    text = re.sub(r" (n't|'s|'re|'ll|'ve|'m|'d)\b", r"\1", text)
    return text[:1].upper() + text[1:], refs


def _label(obj: dict, key: str) -> int:
    if key not in obj or obj[key] is None:
        return -1  # the test split ships no labels
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < N_CHOICES:
        raise RowError("bad_label")
    return value


def _load_boxes(path: Path, n_objects: int) -> list[list[float]]:
    if not path.is_file():
        raise RowError("missing_metadata")
    try:
        boxes = vcr.read_metadata(path)["boxes"]
        out = [[float(v) for v in b[:4]] for b in boxes]  # (n_objects, 4)
    except (DataFileError, ValueError, KeyError, TypeError, IndexError):
        raise RowError("bad_metadata") from None
    if len(out) < n_objects or any(len(b) != 4 for b in out):
        raise RowError("bad_metadata")
    return out


def _parse(obj: dict, root: Path, split: str, cfg: DataCfg) -> dict[str, Any]:
    annot_id = need(obj, "annot_id", str)
    row = base_row(TASK, split, annot_id)
    row["annot_id"] = annot_id
    objects = need(obj, "objects", list)
    if not all(isinstance(o, str) for o in objects):
        raise RowError("bad_field")
    row["object_names"] = list(objects)
    labels = object_labels(objects)
    row["text"], row["text_refs"] = render_tokens(need(obj, "question", list), labels)
    for src, texts_key, refs_key in (("answer_choices", "candidates", "candidate_refs"),
                                     ("rationale_choices", "rationales", "rationale_refs")):
        choices = need(obj, src, list)
        if len(choices) != N_CHOICES:
            raise RowError("bad_field")
        rendered = [render_tokens(c, labels) for c in choices]
        row[texts_key], row[refs_key] = [t for t, _ in rendered], [r for _, r in rendered]
    row["target"] = _label(obj, "answer_label")
    row["rationale_label"] = _label(obj, "rationale_label")
    image_path = safe_relpath(cfg.vcr_images_dir, need(obj, "img_fn", str))
    meta_path = safe_relpath(cfg.vcr_images_dir, need(obj, "metadata_fn", str))
    row["given_boxes"] = _load_boxes(root / meta_path, len(objects))
    row["image_path"] = image_path
    return row


def read_vcr(root: str | Path, split: str, data_cfg: DataCfg | None = None) -> list[dict]:
    """Read one VCR split into unified rows (file order; error rows included).

    Raises:
        FileNotFoundError: ``{split}.jsonl`` is missing under ``root``.
    """
    root, cfg = Path(root), data_cfg or DataCfg()
    rows = []
    for lineno, obj in tqdm(vcr.read_split(root, split), desc=f"read vcr:{split}",
                            unit="row", disable=None, leave=False):
        if obj is None:
            rows.append(error_row(TASK, split, f"line{lineno}", "malformed_json"))
            continue
        try:
            rows.append(_parse(clean_record(obj), root, split, cfg))
        except RowError as e:
            annot_id = obj.get("annot_id")
            annot_id = annot_id if isinstance(annot_id, str) and annot_id else None
            partial = {"annot_id": annot_id} if annot_id else {}
            rows.append(error_row(TASK, split, annot_id or f"line{lineno}", e.reason, partial))
    return rows
