"""What a scored row holds, without torch: the score columns read back from a score cache
(``scored_columns``), the compose kinds and a row's candidate groups. The Ray driver plans
and reads results through this module, so it does not import torch before its executions
start (``fgalign.align.rows`` scores, with torch)."""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.config import AlignCfg
from fgalign.variants import score_column, variant_column, variant_names

COMPOSE_KINDS = ("count", "size", "relation")  # = fgalign.align.compose.KINDS (tested)

ROW_KEYS = ("image_emb", "region_embs", "tag_embs", "stmt_embs", "kw_embs", "kw_mask",
            "cand_group", "labels", "keywords", "kw_refs", "candidates", "answer_type_inferred",
            "region_tags", "statement_refs", "question_prefix", "statements", "image_key",
            "error")


EVIDENCE = {"no_regions": np.bool_, "no_keywords": np.int64,  # missing-evidence columns
            "no_count": np.int64, "no_size": np.int64, "no_relation": np.int64}


def groups_of(row: dict, n: int) -> np.ndarray:
    """(n,) candidate group of each candidate (zeros when the row has no ``cand_group``)."""
    g = row.get("cand_group")
    return np.zeros(n, int) if g is None or len(g) == 0 else np.asarray(list(g), int)


def scored_columns(rows: list[dict], align: AlignCfg) -> list[dict[str, Any]]:
    """The score columns of rows read from a score cache, as ``score_rows`` returns them:
    ``scores_<component>`` and ``vscore_<variant>`` float32 arrays, ``no_regions``,
    ``no_keywords`` and ``no_<count|size|relation>`` (a missing column reads as no evidence)."""
    names = [score_column(c) for c in ["global"] + [c for c in align.components if c != "global"]]
    names += [variant_column(v) for v in variant_names(align)]
    return [{**{c: np.asarray(r[c], np.float32) for c in names},
             "no_regions": bool(r.get("no_regions", False)),
             "no_keywords": int(r.get("no_keywords", 0) or 0),
             **{f"no_{k}": int(r[f"no_{k}"]) if r.get(f"no_{k}") is not None else 1
                for k in COMPOSE_KINDS}} for r in rows]
