"""Region proposal: proposers by name, shared post-processing, crops, CLIP tags, the stage.

    from fgalign.regions import create_proposer, crop_regions, tag_regions, RegionProposer
    props = create_proposer("segment")(image)            # Proposals(boxes, scores, labels)
    crops = crop_regions(image, props.boxes, context_pad=0.1)

Proposers: ``segment`` (weights-free default), ``selective_search``, ``torchvision``,
``detectron2`` (optional install), ``dataset`` (given boxes, e.g. VCR).
"""
from fgalign.regions import detectors, segment, simple  # noqa: F401  (register proposers)
from fgalign.regions.base import (
    PROPOSERS,
    Proposals,
    box_iou,
    create_proposer,
    list_proposers,
    postprocess,
    register_proposer,
)
from fgalign.regions.crops import ImageLoadError, crop_regions, load_rgb, padded_box
from fgalign.regions.stage import RegionProposer
from fgalign.regions.tags import TAG_VOCABS, resolve_tags, resolve_vocab, tag_regions

__all__ = [
    "PROPOSERS",
    "TAG_VOCABS",
    "ImageLoadError",
    "Proposals",
    "RegionProposer",
    "box_iou",
    "create_proposer",
    "crop_regions",
    "list_proposers",
    "load_rgb",
    "padded_box",
    "postprocess",
    "register_proposer",
    "resolve_tags",
    "resolve_vocab",
    "tag_regions",
]
