"""Scoring and fusion over padded alignment batches (see ``fgalign/schema.py`` section 3).

    batch = collate(rows)                                  # numpy rows → AlignBatch
    comps = score_components(batch, ["region_word", "region_sentence", "tag_text"], tau=0.05)
    fused = fuse(comps, {"region_word": 1.0}, batch.cand_mask)   # (B, C), -inf on padding
"""
from fgalign.lazy import lazy_names

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

# imported on first use (fgalign.lazy): importing the package loads no torch
__getattr__, __dir__ = lazy_names(__name__, __all__, {"AlignBatch": "batch", "collate": "batch"},
                                  "scores")
