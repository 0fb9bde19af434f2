"""Keyword extractors: registry, the shared extractor base, and object references (VCR).

An extractor turns texts into keywords — noun phrases with their modifiers ("two blue squares",
"red circle") first, then single content words (lemmas), de-duplicated in order and capped at
``max_keywords``::

    ex = create_extractor("rule", max_keywords=8)
    ex.extract(["Is the red circle left of two blue squares?"])
    # [["red circle", "two blue squares", "red", "circle", "left", "two", "blue", "square"]]

References (VCR): ``refs[t]`` lists the objects text ``t`` mentions, either as object indices
— found in the text as the VCR reader renders them (``fgalign.data.vcr.object_labels``: "person
3" for index 2 when persons repeat, "the dog" for a unique class; or an unrendered "[i]") — or
as explicit ``(mention, index)`` pairs. Each reference becomes a keyword — the object's name (from
``names``, else the mention without articles and numbers) — listed first, with ``kw_refs`` =
``[index]``; its mention is cut out of the text before plain extraction, so "person 1" does not
also yield "person" and "1". Plain keywords have ``kw_refs = []``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from fgalign.data.vcr import object_labels, object_number
from fgalign.registry import Registry

EXTRACTORS = Registry("keyword extractor")

Ref = "int | tuple[str, int]"


def register_extractor(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering an extractor class under ``name``."""
    return EXTRACTORS.register(name)


def create_extractor(name: str, **params: Any) -> Any:
    """Build the extractor registered as ``name``; an unknown name lists the known ones."""
    return EXTRACTORS.create(name, **params)


def list_extractors() -> list[str]:
    """Sorted registered extractor names."""
    return EXTRACTORS.list()


def dedupe(items: Sequence[str], limit: int | None = None) -> list[str]:
    """Non-empty items in first-seen order, without repeats, at most ``limit``."""
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out[:limit] if limit is not None else out


def _mention_pattern(mention: str) -> re.Pattern:
    return re.compile(r"(?<![\w\[])" + re.escape(mention) + r"(?![\w\]])", re.IGNORECASE)


def _ref_keyword(mention: str | None, index: int, names: Sequence[str] | None) -> str:
    if names is not None and 0 <= index < len(names):
        return str(names[index]).lower()
    words = [w for w in re.findall(r"[a-z]+", (mention or "").lower()) if w not in ("the", "a", "an")]
    return " ".join(words) or f"object {object_number(index)}"


def cut_references(text: str, refs: Sequence[Any] | None, names: Sequence[str] | None
                   ) -> tuple[str, list[tuple[str, list[int]]]]:
    """Remove reference mentions from ``text``; return it and the (keyword, [index]) pairs."""
    found: list[tuple[str, list[int]]] = []
    labels = object_labels([str(n) for n in names]) if names is not None else []
    for ref in refs or []:
        if isinstance(ref, (tuple, list)) and len(ref) == 2 and isinstance(ref[0], str):
            candidates, index = [ref[0]], int(ref[1])
        else:
            index = int(ref)
            candidates = [f"[{index}]"]
            if 0 <= index < len(labels):
                candidates.insert(0, labels[index])
        mention = None
        for m in candidates:
            text, hits = _mention_pattern(m).subn(" , ", text, count=1)
            if hits:
                mention = m
                break
        pair = (_ref_keyword(mention or candidates[0], index, names), [index])
        if pair not in found:
            found.append(pair)
    return text, found


class KeywordExtractorBase:
    """Shared logic: references, de-duplication, the per-text cap. Subclasses define ``plain``."""

    def __init__(self, max_keywords: int = 8):
        self.max_keywords = max_keywords

    def plain(self, texts: list[str]) -> list[list[str]]:
        """Keywords of each text, in order (no references, no cap) — implemented by subclasses."""
        raise NotImplementedError

    def extract_with_refs(self, texts: Sequence[str], refs: Sequence[Sequence[Any]] | None = None,
                          names: Sequence[Sequence[str] | None] | None = None
                          ) -> tuple[list[list[str]], list[list[list[int]]]]:
        """Keywords of each text and, per keyword, the object indices it refers to.

        Args:
            texts: T texts.
            refs: per text, the references it holds (indices or (mention, index)), or None.
            names: per text, the object names of its image (VCR ``object_names``), or None.

        Returns:
            (keywords, kw_refs): T lists of keywords and T lists of index lists ([] = none).
        """
        texts = [str(t) for t in texts]
        refs = refs if refs is not None else [None] * len(texts)
        names = names if names is not None else [None] * len(texts)
        cut = [cut_references(t, r, n) for t, r, n in zip(texts, refs, names)]
        plains = self.plain([c[0] for c in cut])
        keywords, kw_refs = [], []
        for (_, ref_pairs), words in zip(cut, plains):
            pairs = ref_pairs + [(w, []) for w in dedupe(words)]
            pairs = pairs[: self.max_keywords]
            keywords.append([p[0] for p in pairs])
            kw_refs.append([list(p[1]) for p in pairs])
        return keywords, kw_refs

    def extract(self, texts: Sequence[str], refs: Sequence[Sequence[Any]] | None = None,
                names: Sequence[Sequence[str] | None] | None = None) -> list[list[str]]:
        """Keywords of each text (see ``extract_with_refs``)."""
        return self.extract_with_refs(texts, refs, names)[0]

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        return self.extract(texts)
