"""The ``embed`` stage: CLIP embeddings of images, region crops, tags, statements and keywords.

Reads:  ``image_path`` (relative to ``root``), ``boxes`` (R, 4), ``box_labels`` (R,),
        ``statements`` (C,), ``keywords`` (C lists), ``error``.
Adds:   ``image_emb`` float32 (D,), ``region_embs`` (R, D), ``region_tags`` list[str] (R,),
        ``tag_embs`` (R, D), ``stmt_embs`` (C, D), ``kw_embs`` (C, K, D) zero-padded and
        ``kw_mask`` bool (C, K) — all L2-normalised (fgalign/schema.py section 2);
        ``truncated_texts`` int — how many of the row's texts (statements, keywords, tags)
        were longer than the text encoder's context and cut by its tokenizer (CLIP: 77
        tokens), so a truncation is never silent (counted in metrics.json ``truncated``).
Sets:   ``error="embed:<reason>"`` when a row's image cannot be read; rows with an existing
        error pass through with empty arrays. Rows in = rows out, same order.

The backbone is loaded once in ``__init__`` (an actor's constructor under Ray). Images and crops
of a whole batch go through one ``encode_images`` call (rows with the same image and boxes
share it); texts (statements, keywords, tags) are
deduplicated and cached across batches, so an identical text is embedded once per stage.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fgalign.config import ModelCfg
from fgalign.models import create_backbone
from fgalign.regions.crops import ImageLoadError, crop_regions, load_rgb
from fgalign.regions.stage import num_rows, object_column, row_errors
from fgalign.regions.tags import resolve_tags


def as_list(x: Any) -> list:
    """A list column value (list, tuple, numpy array, None) as a Python list."""
    if x is None:
        return []
    return [v for v in x] if not isinstance(x, str) else [x]


class Embedder:
    """Stage callable: ``batch -> batch`` with embeddings added (see the module docstring).

    Args:
        root: dataset root (``image_path`` is relative to it).
        model: the ``model`` config section as a dict (name, pretrained, checkpoint, device,
            precision, batch_size, num_threads).
        context_pad: crop padding as a fraction of the box side (``regions.context_pad``).
        tag_vocab: tag vocabulary for unlabelled regions (``regions.tag_vocab``).
        max_keywords: keywords kept per statement (``keywords.max_keywords``).
        cache_size: texts kept in the embedding cache (cleared when full).
    """

    def __init__(self, root: str, model: dict, context_pad: float = 0.1,
                 tag_vocab: str | list[str] = "shapes", max_keywords: int = 8,
                 cache_size: int = 200_000):
        cfg = ModelCfg(**model)
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.backbone = create_backbone(cfg.name, pretrained=cfg.pretrained,
                                        checkpoint=cfg.checkpoint, device=cfg.device,
                                        precision=cfg.precision)
        self.root, self.batch_size = root, cfg.batch_size
        self.context_pad, self.tag_vocab, self.max_keywords = context_pad, tag_vocab, max_keywords
        self.dim = self.backbone.embed_dim
        self.cache: dict[str, np.ndarray] = {}
        self.cut: dict[str, bool] = {}  # text → longer than the context (same keys as cache)
        self.cache_size = cache_size

    def embed_texts(self, texts: list[str]) -> dict[str, np.ndarray]:
        """``{text: (D,) embedding}`` for ``texts``; each distinct text is encoded once."""
        missing = sorted({t for t in texts if t not in self.cache})
        if len(self.cache) + len(missing) > self.cache_size:
            self.cache.clear()
            self.cut.clear()
            missing = sorted(set(texts))  # texts cached before the clear are needed again
        if missing:
            embs = self.backbone.encode_texts(missing, batch_size=max(self.batch_size, 256))
            self.cache.update(zip(missing, embs))
            self.cut.update(zip(missing, self.backbone.truncated(missing).tolist()))
        return {t: self.cache[t] for t in texts}

    def _empty(self) -> dict[str, Any]:
        d = self.dim
        return {"image_emb": np.zeros((0,), np.float32), "region_embs": np.zeros((0, d), np.float32),
                "region_tags": [], "tag_embs": np.zeros((0, d), np.float32),
                "stmt_embs": np.zeros((0, d), np.float32),
                "kw_embs": np.zeros((0, 0, d), np.float32), "kw_mask": np.zeros((0, 0), bool)}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, errors = num_rows(batch), row_errors(batch)
        pils, spans, keys = [], [], {}  # spans per row: (its image's index in pils, R)
        for i in range(n):
            if errors[i]:
                spans.append(None)
                continue
            path = str(batch["image_path"][i] or "")
            boxes = np.asarray(as_list(batch["boxes"][i]), np.float32).reshape(-1, 4)  # (R, 4)
            key = (path, boxes.tobytes())  # rows of one image (VQA: ~6) share one forward
            if key not in keys:
                try:
                    image = load_rgb(self.root, path)
                except ImageLoadError as e:
                    errors[i] = f"embed:{e.reason}"
                    spans.append(None)
                    continue
                keys[key] = len(pils)
                pils += [image] + crop_regions(image, boxes, self.context_pad)
            spans.append((keys[key], len(boxes)))
        embs = self.backbone.encode_images(pils, batch_size=self.batch_size)  # (N_img, D)
        out_rows: list[dict[str, Any]] = []
        texts: list[str] = []
        for i, span in enumerate(spans):
            row = self._empty()
            if span is not None:
                start, r = span
                row["image_emb"] = embs[start]
                row["region_embs"] = embs[start + 1: start + 1 + r]
                labels = [str(x) for x in as_list(batch["box_labels"][i])] if r else []
                row["region_tags"] = resolve_tags(labels, row["region_embs"], self.backbone,
                                                  self.tag_vocab) if r else []
                row["statements"] = [str(s) for s in as_list(batch["statements"][i])]
                kws = as_list(batch["keywords"][i]) if "keywords" in batch else []
                row["keywords"] = [[str(w) for w in as_list(k)][: self.max_keywords] for k in kws]
                texts += row["region_tags"] + row["statements"]
                texts += [w for k in row["keywords"] for w in k]
            out_rows.append(row)
        table = self.embed_texts(texts)
        for row in out_rows:
            row["truncated_texts"] = 0
            if "statements" not in row:
                continue
            row["truncated_texts"] = sum(self.cut[t] for t in row["region_tags"]
                                         + row["statements"]
                                         + [w for k in row["keywords"] for w in k])
            stack = lambda ts: np.stack([table[t] for t in ts]) if ts else np.zeros((0, self.dim), np.float32)
            row["tag_embs"] = stack(row["region_tags"])
            row["stmt_embs"] = stack(row.pop("statements"))
            kw = row.pop("keywords")
            c, k = len(row["stmt_embs"]), max((len(x) for x in kw), default=0)
            row["kw_embs"] = np.zeros((c, k, self.dim), np.float32)
            row["kw_mask"] = np.zeros((c, k), bool)
            for j, words in enumerate(kw[:c]):
                if words:
                    row["kw_embs"][j, : len(words)] = stack(words)
                    row["kw_mask"][j, : len(words)] = True
        out = dict(batch)
        for key in self._empty():
            out[key] = object_column([r[key] for r in out_rows])
        out["truncated_texts"] = np.array([r["truncated_texts"] for r in out_rows], np.int64)
        out["error"] = np.array(errors, dtype=object)
        return out
