"""Registry names checked when a config loads, without importing torch, Ray or open_clip.

The built-in names of each registry are listed here (a test keeps them equal to the
registries); a name outside these lists loads the real registry (where plug-ins register) and,
for backbones, open_clip's architectures and pretrained tags. Each check returns the problems
as ``(dotted key, why)`` pairs, the why naming the close names and the known ones::

    registry_problems(cfg)   # [("model.name", "unknown backbone 'ViT-B32' (did you mean ...")]
"""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def _registry_names(module: str, attr: str) -> list[str]:
    return importlib.import_module(module).__dict__[attr].list()


def proposer_problem(name: str) -> str | None:
    """Why ``name`` is not a proposer, or None."""
    if name in PROPOSER_NAMES:
        return None
    known = _registry_names("fgalign.regions", "PROPOSERS")  # plug-ins, built-ins
    return None if name in known else unknown_name("proposer", name, known)


def extractor_problem(name: str) -> str | None:
    """Why ``name`` is not a keyword extractor, or None."""
    if name in EXTRACTOR_NAMES:
        return None
    known = _registry_names("fgalign.keywords", "EXTRACTORS")  # plug-ins, built-ins
    return None if name in known else unknown_name("keyword extractor", name, known)


def is_bundle_path(name: str) -> bool:
    """``name`` reads as a path to a bundle written by ``fgalign train-backbone``."""
    return Path(name).suffix in (".safetensors", ".json")


def backbone_problems(name: str, pretrained: str | None) -> list[tuple[str, str]]:
    """Problems of a ``model.name`` / ``model.pretrained`` pair (open_clip loads only for a
    name that is not a built-in backbone)."""
    if name in BACKBONE_NAMES:
        return []
    if is_bundle_path(name):
        why = (f"backbone bundle not found: {name} (a .safetensors written by fgalign "
               f"train-backbone, with its .json beside it)")
        return [] if Path(name).exists() else [("model.name", why)]
    import open_clip

    local = _registry_names("fgalign.models.factory", "BACKBONES")
    archs = open_clip.list_models()
    if name in local:
        return []
    if name not in archs:
        why = (f"unknown backbone {name!r}{did_you_mean(name, local + archs)}; known: "
               f"{', '.join(local)}, an open_clip architecture (open_clip.list_models(), e.g. "
               f"ViT-B-32), or a path to a bundle .safetensors written by fgalign train-backbone")
        return [("model.name", why)]
    if pretrained is None or Path(pretrained).is_file():
        return []
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained in tags:
        return []
    why = unknown_name(f"pretrained tag for {name}", pretrained, tags)
    return [("model.pretrained", f"{why} (open_clip.list_pretrained())")]


def registry_problems(cfg: Any) -> list[tuple[str, str]]:
    """Every registry name of a validated ``Config`` that names nothing, as (key, why)."""
    problems = backbone_problems(cfg.model.name, cfg.model.pretrained)
    for key, name in (("regions.proposer", cfg.regions.proposer),
                      ("tasks.vcr.proposer", cfg.tasks.vcr.proposer)):
        why = proposer_problem(name) if name is not None else None
        if why:
            problems.append((key, why))
    why = extractor_problem(cfg.keywords.extractor)
    if why:
        problems.append(("keywords.extractor", why))
    return problems
