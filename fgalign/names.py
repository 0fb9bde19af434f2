"""Names of registries, without importing them: the built-in names and one-line errors.

The built-in names of each registry are listed here (a test keeps them equal to the
registries), so ``fgalign.load`` checks a config's names without importing torch, cv2 or
open_clip unless a name is outside these lists::

    unknown_name("proposer", "segmnt", PROPOSER_NAMES)
    # "unknown proposer 'segmnt' (did you mean 'segment'?); known: dataset, ..."
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

BACKBONE_NAMES = ("shapes-tiny", "test-tiny")  # fgalign.models.factory.BACKBONES
PROPOSER_NAMES = ("dataset", "detectron2", "segment", "selective_search", "torchvision")
EXTRACTOR_NAMES = ("rule", "spacy")  # fgalign.keywords.EXTRACTORS


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``known`` that look like ``name`` (case-insensitive), best first."""
    known = list(known)
    lower = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the close names of ``name`` in ``known``, else ``""``."""
    close = close_names(name, known)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown <kind> 'name' (did you mean ...?); known: a, b, c``."""
    known = list(known)
    return f"unknown {kind} {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}"


def is_bundle_path(name: str) -> bool:
    """``name`` reads as a path to a bundle written by ``fgalign train-backbone``."""
    return Path(name).suffix in (".safetensors", ".json")
