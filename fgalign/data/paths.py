"""Helpers shared by the dataset readers: safe relative paths, file loading, row building.

Readers never raise on a bad *row*: they build it with ``error_row`` and a ``read:<reason>``
value. Text is normalised once, where it is read (``clean_record``): NFC, zero-width characters
(U+200B..U+200D, U+2060, U+FEFF) removed; a string holding a lone surrogate (an emoji cut in
half, which JSON can spell as ``"\ud83d"``) makes its record a ``read:invalid_text`` row. A bad *file* (missing, not JSON) raises: ``FileNotFoundError`` or ``DataFileError``,
both naming the file.
"""
from __future__ import annotations

import json
import posixpath
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fgalign.errors import InputError
from fgalign.schema import COMMON_FIELDS, TASK_FIELDS, make_uid

# Default value of every task-specific column, used to fill error rows.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "vqa": {"question_id": -1, "image_id": -1, "question_type": "", "answer_type": "",
            "target": []},  # VQA's target is the list of human answers (others: label -1)
    "snli_ve": {"premise": "", "pair_id": ""},
    "vcr": {"annot_id": "", "object_names": [], "text_refs": [], "candidate_refs": [],
            "rationales": [], "rationale_refs": [], "rationale_label": -1},
}


class DataFileError(InputError):
    """A dataset file as a whole cannot be read (not JSON, wrong top-level layout)."""


class RowError(Exception):
    """Raised inside a reader's per-row parser; becomes the row's ``read:<reason>`` error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # removed from text


def clean_text(text: str) -> str:
    """``text`` in NFC without zero-width characters; ``RowError("invalid_text")`` when it holds
    a code point UTF-8 cannot encode (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError("invalid_text") from None
    return unicodedata.normalize("NFC", text.translate(ZERO_WIDTH))


def clean_record(obj: Any) -> Any:
    """``obj`` (a parsed JSON record) with every string, keys included, through ``clean_text``."""
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_record(k): clean_record(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_record(v) for v in obj]
    return obj


def printable(value: Any) -> Any:
    """A string safe to store (lone surrogates become "?"); other values as they are. For the
    fields an error row keeps from a record that failed, e.g. for ``invalid_text``."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def safe_relpath(*parts: str) -> str:
    """Join path parts into a normalised POSIX path relative to the dataset root.

    Raises:
        RowError("unsafe_path"): a part is absolute or the result escapes the root (``..``).
        RowError("bad_field"): a part is not a non-empty string.
    """
    for p in parts:
        if not isinstance(p, str) or not p:
            raise RowError("bad_field")
        if posixpath.isabs(p) or p.startswith("\\") or (len(p) > 1 and p[1] == ":"):
            raise RowError("unsafe_path")
    joined = posixpath.normpath(posixpath.join(*[p.replace("\\", "/") for p in parts]))
    if joined == ".." or joined.startswith("../") or joined == ".":
        raise RowError("unsafe_path")
    return joined


def need(obj: dict, key: str, typ: type | tuple[type, ...] | None = None) -> Any:
    """``obj[key]``, raising ``RowError("missing_field")`` / ``RowError("bad_field")``."""
    if key not in obj or obj[key] is None:
        raise RowError("missing_field")
    value = obj[key]
    if typ is not None and (not isinstance(value, typ) or isinstance(value, bool) and typ is int):
        raise RowError("bad_field")
    return value


def need_text(obj: dict, key: str) -> str:
    """``need(obj, key, str)`` that also refuses blank text (``RowError("empty_text")``)."""
    value = need(obj, key, str)
    if not value.strip():
        raise RowError("empty_text")
    return value


def load_json(path: Path) -> Any:
    """Load a whole JSON file; a missing or unparsable file raises naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: a leading BOM is not JSON
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFileError(f"dataset file {path} is not valid JSON: {e}") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict | None]]:
    """Yield ``(line_number, object)``; a malformed line yields ``(line_number, None)``.

    Blank lines are ignored. A missing file raises ``FileNotFoundError`` naming it.
    """
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    with open(path, encoding="utf-8-sig", errors="replace") as f:  # a leading BOM is no JSON
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            yield lineno, obj if isinstance(obj, dict) else None


def base_row(task: str, split: str, native_id: Any) -> dict[str, Any]:
    """A row with every schema column at its empty default (target: [] for VQA, else -1)."""
    row: dict[str, Any] = {
        "uid": make_uid(task, split, native_id), "task": task, "split": split,
        "image_path": "", "text": "", "candidates": [],
        "target": -1, "given_boxes": [], "error": "",
    }
    row.update({k: (list(v) if isinstance(v, list) else v)
                for k, v in TASK_DEFAULTS[task].items()})
    return row


def error_row(task: str, split: str, native_id: Any, reason: str,
              partial: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error row: defaults, plus the fields parsed before the failure, plus ``error``."""
    row = base_row(task, split, printable(native_id))
    for k, v in (partial or {}).items():
        if k in row and k not in ("uid", "task", "split", "error"):
            row[k] = printable(v)
    row["image_path"] = ""  # "" on error (schema): nothing downstream should open it
    row["error"] = f"read:{reason}"
    return row


def check_row(row: dict[str, Any], task_fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Assert a row has exactly the schema columns of its task (a programming-error guard).

    ``task_fields``: the task's own columns (default: ``TASK_FIELDS`` of ``row["task"]``)."""
    extra = TASK_FIELDS[row["task"]] if task_fields is None else task_fields
    expected = set(COMMON_FIELDS) | set(extra)
    assert set(row) == expected, f"row columns {sorted(set(row) ^ expected)} differ from schema"
    return row
