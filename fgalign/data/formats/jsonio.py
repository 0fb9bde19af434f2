"""JSON / JSON Lines output shared by the format writers: the byte layout of a file.

    write_json(path, {"questions": [...]}, SORTED)   # '{"questions": [...]}\\n', keys sorted
    write_jsonl(path, records, COMPACT)              # one json.dumps(record) per line
    record(FIELDS, question_id=7, image_id=42)        # {"image_id": 42, "question_id": 7}

A ``JsonStyle`` changes bytes only, never content: keys sorted or in insertion order, and
whether a whole-file document ends with a newline (JSON Lines end every line with one).
Text is ``json.dumps``' default (ASCII, ``", "`` / ``": "`` separators). Reading is in
``fgalign.data.paths`` (``load_json``, ``iter_jsonl``: BOM-tolerant, errors name the file).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JsonStyle:
    """How a writer serialises: ``sort_keys`` (json.dumps), and ``final_newline``: a ``"\\n"``
    after a whole-file JSON document."""

    sort_keys: bool = False
    final_newline: bool = False


COMPACT = JsonStyle()  # keys in insertion order, no final newline (photo sets, scale data)
SORTED = JsonStyle(sort_keys=True, final_newline=True)  # the synthetic world: stable bytes


def dumps(obj: Any, style: JsonStyle = COMPACT) -> str:
    """``obj`` as one JSON text (no newline)."""
    return json.dumps(obj, sort_keys=style.sort_keys)


def write_json(path: Path, obj: Any, style: JsonStyle = COMPACT) -> Path:
    """Write ``obj`` as one JSON document at ``path`` (its folder is created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj, style) + ("\n" if style.final_newline else ""), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: Iterable[Any], style: JsonStyle = COMPACT) -> Path:
    """Write one JSON object per line (each line ends with ``"\\n"``); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(dumps(r, style) + "\n" for r in records), encoding="utf-8")
    return path


def record(fields: tuple[str, ...], **values: Any) -> dict[str, Any]:
    """A record with the given ``values``, keys in the order of ``fields`` (a format's official
    field names).

    Raises:
        ValueError: a key that is not one of ``fields`` (a misspelt field name).
    """
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    return {k: values[k] for k in fields if k in values}
