"""CLIP backbones by name: bundled ``shapes-tiny``, open_clip architectures, local checkpoints.

Public API::

    from fgalign.models import create_backbone, list_backbones
    bb = create_backbone("shapes-tiny", device="auto")
    bb.encode_images(pil_images)   # (N, D) float32, L2-normalised
    bb.encode_texts(["a red circle"])
"""
from fgalign.lazy import lazy_names

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

# imported on first use (fgalign.lazy): importing the package loads no torch
__getattr__, __dir__ = lazy_names(__name__, __all__, {
    "Backbone": "backbone", "resolve_device": "backbone", "ModelForbiddenError": "bundle",
    "check_models_allowed": "bundle", "forbid_models": "bundle", "WordTokenizer": "tokenizer",
}, "factory")
