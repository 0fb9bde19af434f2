"""CLIP embeddings, once per distinct image and once per distinct text, and their gathering.

Two stages write the embedding tables of ``fgalign.engine.store`` (fp16, content-addressed):

``images`` (``fgalign.regions.embed.ImageEmbedder``, one row per distinct image)
    Reads:  ``image_key``, ``image_path`` (relative to ``root``), ``boxes`` (R, 4),
            ``box_labels`` (R,), ``error``.
    Writes: the whole image and its R crops to the image table (``region_key(image_key, j)``,
            j = 0 the image, 1..R the crops), each region's tag text to the text table.
    Adds:   ``region_tags`` list[str] (R,) (proposer label, else CLIP's best tag),
            ``image_encodes`` int (1 + R: images this row sent through the image encoder, 0 on
            error rows: the count the benchmarks compare with distinct images + crops).
    Sets:   ``error="embed:<reason>"`` when the image cannot be read.

``embed`` (:class:`TextEmbedder`, one row per task instance)
    Reads:  ``statements`` (C,), ``keywords`` (C lists), ``error``.
    Writes: every statement and keyword (first ``max_keywords`` of each statement) that the
            text table does not hold yet.
    Adds:   ``text_encodes`` int: texts this row sent through the text encoder (a text shared
            by rows of one batch counts once); ``truncated_texts`` int: how many of the row's
            texts are longer than the text encoder's context and were cut by its tokenizer
            (CLIP: 77 tokens), so a truncation is never silent (metrics.json ``truncated``).

No row cache holds an embedding: ``fgalign.engine.gather.hydrate`` gathers, for a batch of rows, the arrays the
scorer, the adaptation and the figures read (``image_emb`` (D,), ``region_embs`` (R, D),
``tag_embs`` (R, D), ``stmt_embs`` (C, D), ``kw_embs`` (C, K, D) zero-padded, ``kw_mask``
(C, K), ``boxes``, ``box_labels``, ``region_tags``) from the tables and the image records,
on the CPU, in float32. Rows in = rows out, same order, in both stages.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fgalign import models
from fgalign.config import ModelCfg
from fgalign.engine.batch import num_rows, row_errors
from fgalign.engine.gather import statement_texts
from fgalign.engine.store import EmbeddingTable, text_keys

_BACKBONES: dict[tuple, Any] = {}  # one backbone per process and model config


def _file_ids(*paths: str | None) -> tuple:
    """(size, mtime) of each path that is a file: a rewritten bundle is built anew."""
    out = []
    for p in paths:
        try:
            st = os.stat(p) if p else None
        except OSError:
            st = None
        out.append((st.st_size, st.st_mtime_ns) if st else None)
    return tuple(out)


def create_backbone(*args: Any, **kwargs: Any) -> Any:
    """``fgalign.models.create_backbone``, looked up on first call: ``fgalign.models`` imports
    torch only then, so the Ray driver plans (``TextEmbedder`` is a stage spec's class)
    without it."""
    return models.create_backbone(*args, **kwargs)


def backbone_of(model: dict) -> Any:
    """``(backbone, batch size)`` of the ``model`` config section (a dict).

    Backbones are built once per process and config (every stage of an actor or of an
    in-process run shares one); ``check_models_allowed`` still applies to every call.
    """

    import torch

    cfg = ModelCfg(**model)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    models.check_models_allowed()
    key = (cfg.name, cfg.pretrained, cfg.checkpoint, cfg.device, cfg.precision,
           _file_ids(cfg.name, cfg.checkpoint))
    if key not in _BACKBONES:
        _BACKBONES[key] = create_backbone(cfg.name, pretrained=cfg.pretrained,
                                          checkpoint=cfg.checkpoint, device=cfg.device,
                                          precision=cfg.precision)
    return _BACKBONES[key], cfg.batch_size


def in_table(table: EmbeddingTable, texts: Sequence[str]) -> dict[str, bool]:
    """``{text: whether the table holds it}`` over the distinct ``texts`` (one lookup)."""
    distinct = sorted(set(texts))
    return dict(zip(distinct, table.contains(text_keys(distinct)))) if distinct else {}


def add_texts(backbone: Any, table: EmbeddingTable, texts: Sequence[str], batch_size: int,
              have: dict[str, bool] | None = None) -> int:
    """Encode the distinct ``texts`` the table lacks and add them; returns how many.

    ``have``: ``in_table(table, texts)`` when the caller already looked them up.
    """
    have = in_table(table, texts) if have is None else have
    missing = [t for t, held in have.items() if not held]
    if missing:
        embs = backbone.encode_texts(missing, batch_size=max(batch_size, 256))  # (M, D)
        table.add(text_keys(missing), embs)
    return len(missing)


class TextEmbedder:
    """Stage callable over task rows: statements and keywords into the text table.

    Args:
        model: the ``model`` config section as a dict.
        tables: ``{"text": dir, ...}`` of the embedding tables.
        max_keywords: keywords kept per statement (``keywords.max_keywords``).
    """

    VERSION = 2  # 2: writes the text table instead of per-row (C, K, D) arrays

    @staticmethod
    def warm(model: dict, **_: Any) -> None:
        """Build the backbone (memoised per process) ahead of the stage, which may have to
        wait for the text table (``fgalign.engine.chunks.ChunkStage.prepare``)."""
        backbone_of(model)

    def __init__(self, model: dict, tables: dict[str, str], max_keywords: int = 8):
        self.backbone, self.batch_size = backbone_of(model)
        self.texts = EmbeddingTable(tables["text"], self.backbone.embed_dim)
        self.max_keywords = max_keywords

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, errors = num_rows(batch), row_errors(batch)
        per_row: list[list[str]] = []
        for i in range(n):
            texts: list[str] = []
            if not errors[i]:
                stmts, kws = statement_texts(batch["statements"][i],
                                             batch["keywords"][i] if "keywords" in batch
                                             else None, self.max_keywords)
                texts = stmts + [w for k in kws for w in k]
            per_row.append(texts)
        all_texts = [t for ts in per_row for t in ts]
        have = in_table(self.texts, all_texts)
        add_texts(self.backbone, self.texts, all_texts, self.batch_size, have)
        distinct = sorted(have)
        cut = dict(zip(distinct, self.backbone.truncated(distinct).tolist())) if distinct else {}
        seen: set[str] = set()
        counts = []
        for texts in per_row:  # each missing text is charged to the first row that has it
            new = {t for t in texts if not have[t] and t not in seen}
            seen |= new
            counts.append(len(new))
        out = dict(batch)
        out["text_encodes"] = np.asarray(counts, np.int64)
        out["truncated_texts"] = np.asarray([sum(cut[t] for t in texts) for texts in per_row],
                                            np.int64)
        out["error"] = np.array(errors, dtype=object)
        return out
