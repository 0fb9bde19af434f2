"""Scoring and fusion over padded alignment batches (see ``fgalign/schema.py`` section 3).

    batch = collate(rows)                                  # numpy rows → AlignBatch
    comps = score_components(batch, ["region_word", "region_sentence", "tag_text"], tau=0.05)
    fused = fuse(comps, {"region_word": 1.0}, batch.cand_mask)   # (B, C), -inf on padding
"""
import importlib
from typing import Any

_HOME = {"AlignBatch": "batch", "collate": "batch"}  # the rest: fgalign.align.scores


def __getattr__(name: str) -> Any:
    """The names below, imported on first use: ``import fgalign.align.columns`` (the driver's
    plan) then does not import torch."""
    if name not in __all__:
        raise AttributeError(f"module 'fgalign.align' has no attribute {name!r}")
    return getattr(importlib.import_module(f"fgalign.align.{_HOME.get(name, 'scores')}"), name)


__all__ = [
    "COMPONENTS",
    "AlignBatch",
    "attend",
    "collate",
    "fuse",
    "global_score",
    "keyword_idf",
    "keyword_weights",
    "region_sentence_score",
    "region_word_alpha",
    "region_word_score",
    "score_components",
    "tag_text_score",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
