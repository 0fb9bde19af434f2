"""CLIP backbones by name: bundled ``shapes-tiny``, open_clip architectures, local checkpoints.

Public API::

    from fgalign.models import create_backbone, list_backbones
    bb = create_backbone("shapes-tiny", device="auto")
    bb.encode_images(pil_images)   # (N, D) float32, L2-normalised
    bb.encode_texts(["a red circle"])
"""
from fgalign.models.backbone import Backbone, resolve_device
from fgalign.models.bundle import ModelForbiddenError, forbid_models
from fgalign.models.factory import BACKBONES, BackboneWeightsError, create_backbone, list_backbones
from fgalign.models.tokenizer import WordTokenizer

__all__ = [
           "BACKBONES",
           "Backbone",
           "BackboneWeightsError",
           "ModelForbiddenError",
           "WordTokenizer",
           "create_backbone",
           "forbid_models",
           "list_backbones",
           "resolve_device",
]
