"""Gathering a batch's embeddings from the tables: what the scorer, adaptation and figures read.

    records = ImageRecords(run.image_records)          # boxes, labels, tags by image_key
    rows = hydrate(rows, records, run.tables)          # + image_emb, region_embs, stmt_embs, ...

No model is built here: everything comes from the ``images`` stage's records and the
embedding tables (``fgalign.engine.store``), on the CPU, in float32.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fgalign.engine.batch import as_list
from fgalign.engine.cache import SUCCESS, read_table, resolve_uri
from fgalign.engine.store import EmbeddingTable, region_key, text_keys


def statement_texts(statements: Any, keywords: Any, max_keywords: int
                    ) -> tuple[list[str], list[list[str]]]:
    """A row's statements (C,) and the first ``max_keywords`` keywords of each (C lists)."""
    stmts = [str(s) for s in as_list(statements)]
    kws = [[str(w) for w in as_list(k)][:max_keywords] for k in as_list(keywords)]
    return stmts, (kws + [[] for _ in stmts])[: len(stmts)]


class ImageRecords:
    """The ``images`` stage's rows (boxes, labels, tags, errors) by ``image_key``.

    Args:
        paths: cache directories of the ``images`` stage (Parquet files); later ones win.
        keys: keep only these image keys (None: all).
    """

    COLUMNS = ("image_key", "boxes", "box_labels", "region_tags", "error")

    def __init__(self, paths: Sequence[str], keys: set[str] | None = None):
        self.by_key: dict[str, dict[str, Any]] = {}
        for path in paths:
            for batch in read_table(path, list(self.COLUMNS)):
                for i, key in enumerate(batch["image_key"]):
                    key = str(key)
                    if keys is None or key in keys:
                        self.by_key[key] = {c: batch[c][i] for c in self.COLUMNS}

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self.by_key[str(key)]

    def __contains__(self, key: object) -> bool:
        return str(key) in self.by_key

    def __len__(self) -> int:
        return len(self.by_key)


def hydrate(rows: list[dict[str, Any]], records: ImageRecords, tables: dict[str, str],
            max_keywords: int = 8, text_only: bool = False) -> list[dict[str, Any]]:
    """Rows with the embedding columns the scorer reads, gathered from the tables.

    Args:
        rows: task rows after the ``embed`` stage (``image_key``, ``statements``,
            ``keywords``, ``error``); not modified.
        records: the image records of these rows' images.
        tables: ``{"image": dir, "text": dir}``.
        max_keywords: keywords per statement (as the ``embed`` stage stored them).
        text_only: rows of SNLI-VE's text-only protocol: ``premise`` plays the image and its
            ``premise_phrases`` the regions and tags (no image record is read).

    Returns:
        New dicts: each row plus ``image_emb`` (D,), ``region_embs`` (R, D), ``tag_embs``
        (R, D), ``region_tags``, ``boxes`` (R, 4), ``box_labels``, ``stmt_embs`` (C, D),
        ``kw_embs`` (C, K, D), ``kw_mask`` (C, K) — float32; error rows get (0, …) arrays.

    Raises:
        KeyError: an error-free row's image or text is not in the tables (the stages that
            write them did not run on this row).
    """
    text = EmbeddingTable(tables["text"])
    image = None if text_only else EmbeddingTable(tables["image"])
    dim = text.dim or (image.dim if image is not None else None) or 0
    zero = np.zeros((0, dim), np.float32)
    plans, text_list, image_keys = [], [], []
    for row in rows:
        if row.get("error"):
            plans.append(None)
            continue
        stmts, kws = statement_texts(row.get("statements"), row.get("keywords"), max_keywords)
        if text_only:
            tags = [str(p) for p in as_list(row.get("premise_phrases"))]
            rec = {"boxes": np.zeros((len(tags), 4), np.float32), "box_labels": tags,
                   "region_tags": tags}
            img = [str(row["premise"])]
        else:
            rec = records[row["image_key"]]
            tags = [str(t) for t in as_list(rec["region_tags"])]
            img = []
            r = len(tags)
            image_keys += [region_key(str(row["image_key"]), j) for j in range(r + 1)]
        plans.append((stmts, kws, tags, rec, img))
        text_list += img + tags + stmts + [w for k in kws for w in k]
    text_embs = dict(zip(text_list, text.get(text_keys(text_list)))) if text_list else {}
    image_embs = image.get(np.asarray(image_keys, np.int64)) if image_keys else zero
    out, pos = [], 0
    for row, plan in zip(rows, plans):
        row = dict(row)
        if plan is None:
            row.update(image_emb=np.zeros(0, np.float32), region_embs=zero, tag_embs=zero,
                       region_tags=[], stmt_embs=zero, kw_embs=np.zeros((0, 0, dim), np.float32),
                       kw_mask=np.zeros((0, 0), bool), boxes=np.zeros((0, 4), np.float32),
                       box_labels=[])
            out.append(row)
            continue
        stmts, kws, tags, rec, img = plan
        stack = (lambda ts: np.stack([text_embs[t] for t in ts]) if ts else zero)
        if text_only:
            row["image_emb"] = text_embs[img[0]]
            row["region_embs"] = stack(tags)
        else:
            r = len(tags)
            row["image_emb"] = image_embs[pos]
            row["region_embs"] = image_embs[pos + 1: pos + 1 + r]
            pos += r + 1
        row["tag_embs"] = stack(tags)
        row["region_tags"] = tags
        row["boxes"] = np.asarray(as_list(rec["boxes"]), np.float32).reshape(-1, 4)
        row["box_labels"] = [str(x) for x in as_list(rec["box_labels"])]
        row["stmt_embs"] = stack(stmts)
        k = max((len(x) for x in kws), default=0)
        row["kw_embs"] = np.zeros((len(stmts), k, dim), np.float32)
        row["kw_mask"] = np.zeros((len(stmts), k), bool)
        for j, words in enumerate(kws):
            if words:
                row["kw_embs"][j, : len(words)] = stack(words)
                row["kw_mask"][j, : len(words)] = True
        out.append(row)
    return out


def premise_phrases(premise_keywords: list[str]) -> list[str]:
    """The premise's regions in SNLI-VE's text-only protocol: its multi-word keywords
    (phrases), or every keyword when it has none."""
    return [p for p in premise_keywords if " " in p] or list(premise_keywords)


def text_only_view(rows: list[dict[str, Any]], tables: dict[str, str], max_keywords: int
                   ) -> list[dict[str, Any]]:
    """Scorer rows of SNLI-VE's text-only protocol (TAP-C) from ``embed``-stage rows whose
    statements are [hypothesis, premise]: the premise caption stands in for the image, its
    phrases for the regions and tags.

    Returns rows with ``image_emb`` (D,), ``region_embs`` / ``tag_embs`` (P, D), ``stmt_embs``
    (1, D), ``kw_embs`` (1, K, D), ``kw_mask``, ``keywords``, ``cand_group`` [0], ``target``.
    """
    out = []
    for r in rows:
        stmts = [str(x) for x in as_list(r["statements"])]
        kws = ([[str(w) for w in as_list(k)] for k in as_list(r["keywords"])] + [[], []])[:2]
        out.append({"uid": r["uid"], "task": str(r.get("task") or ""), "error": str(r.get("error") or ""),
                    "target": int(r["target"]), "statements": stmts[:1], "keywords": kws[:1],
                    "premise": stmts[1] if len(stmts) > 1 else "",
                    "premise_phrases": premise_phrases(kws[1]), "cand_group": [0]})
    return hydrate(out, ImageRecords([]), tables, max_keywords, text_only=True)


def read_rows(path: str) -> list[dict[str, Any]]:
    """Every row of a stage cache, with its embeddings gathered when the cache says how.

    A row-stage cache written by ``fgalign.engine.runner.Runner`` records its tables and image
    records in its ``_SUCCESS`` marker (``hydrate``); its rows come back hydrated (text-only
    caches through ``text_only_view``). Other caches come back as stored.
    """
    import json

    fs, where = resolve_uri(path)
    with fs.open_input_stream(f"{where}/{SUCCESS}") as f:
        info = json.loads(f.read()).get("hydrate")
    rows = [{k: v[i] for k, v in b.items()} for b in read_table(path)
            for i in range(len(next(iter(b.values()))))]
    if not info:
        return rows
    if info["text_only"]:
        return text_only_view(rows, info["tables"], info["max_keywords"])
    return hydrate(rows, ImageRecords(info["image_records"]), info["tables"],
                   info["max_keywords"])


def table_dirs(cache_root: str, image_hash: str, text_hash: str) -> dict[str, str]:
    """``{"image": dir, "text": dir}`` of the embedding tables under a stage-cache root."""
    base = Path(cache_root) / "tables"
    return {"image": str(base / f"image-{image_hash}"), "text": str(base / f"text-{text_hash}")}
