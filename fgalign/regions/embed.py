"""The ``images`` stage: CLIP on each distinct image and its region crops (``fgalign.embed``
describes both embedding stages and the tables they write)."""
from __future__ import annotations

import numpy as np

from fgalign.embed import add_texts, backbone_of
from fgalign.engine.batch import as_list, num_rows, object_column, row_errors
from fgalign.engine.store import EmbeddingTable, region_key
from fgalign.regions.crops import ImageLoadError, crop_regions, load_rgb
from fgalign.regions.tags import resolve_tags


class ImageEmbedder:
    """Stage callable over distinct images (see the module docstring).

    Args:
        root: dataset root (``image_path`` is relative to it).
        model: the ``model`` config section as a dict.
        tables: ``{"image": dir, "text": dir}`` of the embedding tables.
        context_pad: crop padding as a fraction of the box side (``regions.context_pad``).
        tag_vocab: tag vocabulary for unlabelled regions (``regions.tag_vocab``).
    """

    VERSION = 1  # bump when the stage's output changes for the same inputs

    def __init__(self, root: str, model: dict, tables: dict[str, str], context_pad: float = 0.1,
                 tag_vocab: str | list[str] = "shapes"):
        self.backbone, self.batch_size = backbone_of(model)
        self.root, self.context_pad, self.tag_vocab = root, context_pad, tag_vocab
        dim = self.backbone.embed_dim
        self.images = EmbeddingTable(tables["image"], dim)
        self.texts = EmbeddingTable(tables["text"], dim)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, errors = num_rows(batch), row_errors(batch)
        pils, spans = [], []  # spans: (start in pils, R) per row, None on error rows
        for i in range(n):
            boxes = np.asarray(as_list(batch["boxes"][i]), np.float32).reshape(-1, 4)  # (R, 4)
            span = None
            if not errors[i]:
                try:
                    image = load_rgb(self.root, str(batch["image_path"][i] or ""))
                    span = (len(pils), len(boxes))
                    pils += [image] + crop_regions(image, boxes, self.context_pad)
                except ImageLoadError as e:
                    errors[i] = f"embed:{e.reason}"
            spans.append(span)
        embs = self.backbone.encode_images(pils, batch_size=self.batch_size)  # (N_img, D)
        keys, tags, encodes = [], [], []
        for i, span in enumerate(spans):
            if span is None:
                tags.append([])
                encodes.append(0)
                continue
            start, r = span
            key = str(batch["image_key"][i])
            keys += [region_key(key, j) for j in range(r + 1)]
            labels = [str(x) for x in as_list(batch["box_labels"][i])]
            tags.append(resolve_tags(labels, embs[start + 1: start + 1 + r], self.backbone,
                                     self.tag_vocab) if r else [])
            encodes.append(r + 1)
        if keys:
            self.images.add(np.asarray(keys, np.int64), embs)
        add_texts(self.backbone, self.texts, [t for ts in tags for t in ts], self.batch_size)
        out = dict(batch)
        out["region_tags"] = object_column(tags)
        out["image_encodes"] = np.asarray(encodes, np.int64)
        out["error"] = np.array(errors, dtype=object)
        return out
