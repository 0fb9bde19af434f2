"""CLIP backbones by name: bundled ``shapes-tiny``, open_clip architectures, local checkpoints.

Public API::

    from fgalign.models import create_backbone, list_backbones
    bb = create_backbone("shapes-tiny", device="auto")
    bb.encode_images(pil_images)   # (N, D) float32, L2-normalised
    bb.encode_texts(["a red circle"])
"""
import importlib
from typing import Any

_HOME = {"Backbone": "backbone", "resolve_device": "backbone", "ModelForbiddenError": "bundle",
         "check_models_allowed": "bundle", "forbid_models": "bundle",
         "WordTokenizer": "tokenizer"}  # the rest: factory


def __getattr__(name: str) -> Any:
    """The names below, imported on first use: ``fgalign.models.weights`` (the run's weight
    check) and ``fgalign.embed`` (a stage spec's class) then load without torch: with a
    built-in backbone the Ray driver imports it only for its own steps
    (``tests/test_driver_imports.py``)."""
    if name not in __all__:
        raise AttributeError(f"module 'fgalign.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"fgalign.models.{_HOME.get(name, 'factory')}"), name)


__all__ = [
           "BACKBONES",
           "Backbone",
           "BackboneWeightsError",
           "ModelForbiddenError",
           "WordTokenizer",
           "check_models_allowed",
           "create_backbone",
           "forbid_models",
           "list_backbones",
           "resolve_device",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
