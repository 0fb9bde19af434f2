"""The ``keywords`` stage: keywords of each row's statements and text (Ray-free, dict-batches).

Reads:  ``statements`` (list[str] per row, one per candidate), ``text``, ``error``, and when
        present (VCR) ``object_names`` (list[str]), ``statement_refs`` (per statement, the
        object indices it mentions) and ``text_refs`` (object indices ``text`` mentions).
Adds:   ``keywords``      list[list[str]] per row — keywords of each statement;
        ``kw_refs``       list[list[list[int]]] per row — per statement, per keyword, the object
                          (= region, with ``dataset`` boxes) indices it refers to ([] = none);
        ``text_keywords`` list[str] and ``text_kw_refs`` list[list[int]] — the same for ``text``.
Rows with an existing error pass through with empty lists; rows in = rows out, same order.
All texts of a batch are extracted in one call (one ``nlp.pipe`` for spaCy).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.engine.batch import as_list, num_rows, object_column, row_errors
from fgalign.keywords.base import create_extractor


class KeywordExtractor:
    """Stage callable: ``batch -> batch`` with keywords added (see module docstring)."""

    @classmethod
    def warm(cls, **kwargs: Any) -> None:
        """Load the extractor's model ahead of the stage (spaCy pipelines are cached per
        process; ``fgalign.engine.chunks.ChunkStage.prepare``)."""
        cls(**kwargs)

    def __init__(self, extractor: str = "spacy", max_keywords: int = 8, **params: Any):
        """Args:
            extractor: registry name (``list_extractors()``): spacy | rule.
            max_keywords: keywords kept per text.
            **params: extractor-specific keyword arguments.
        """
        self.extractor = create_extractor(extractor, max_keywords=max_keywords, **params)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = num_rows(batch)
        errors = row_errors(batch)
        texts, refs, names, owner = [], [], [], []  # owner: (row, statement index or -1)
        for i in range(n):
            if errors[i]:
                continue
            row_names = [str(x) for x in as_list(batch["object_names"][i])] \
                if "object_names" in batch else None
            stmt_refs = as_list(batch["statement_refs"][i]) if "statement_refs" in batch else []
            for j, stmt in enumerate(as_list(batch["statements"][i])):
                texts.append(str(stmt))
                refs.append(as_list(stmt_refs[j]) if j < len(stmt_refs) else None)
                names.append(row_names)
                owner.append((i, j))
            texts.append(str(batch["text"][i]) if "text" in batch else "")
            refs.append(as_list(batch["text_refs"][i]) if "text_refs" in batch else None)
            names.append(row_names)
            owner.append((i, -1))
        kws, kw_refs = self.extractor.extract_with_refs(texts, refs, names)
        keywords = [[] for _ in range(n)]
        refs_out = [[] for _ in range(n)]
        text_kws = [[] for _ in range(n)]
        text_refs = [[] for _ in range(n)]
        for (i, j), kw, kr in zip(owner, kws, kw_refs):
            if j < 0:
                text_kws[i], text_refs[i] = kw, kr
            else:
                keywords[i].append(kw)
                refs_out[i].append(kr)
        out = dict(batch)
        out["keywords"] = object_column(keywords)
        out["kw_refs"] = object_column(refs_out)
        out["text_keywords"] = object_column(text_kws)
        out["text_kw_refs"] = object_column(text_refs)
        return out
