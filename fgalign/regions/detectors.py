"""Detector proposers: ``torchvision`` (Faster R-CNN) and ``detectron2`` (DefaultPredictor).

Both label each box with the detector's class name (COCO for the defaults), so such regions
need no CLIP tagging. Models are built in ``__init__`` (once per actor under Ray).

``torchvision``: ``fasterrcnn_resnet50_fpn_v2`` with ``weights="DEFAULT"`` (downloaded by
torchvision when online), or ``weights_path`` = a local state dict (``torch.load(...,
weights_only=True)``). ``weights=None`` without ``weights_path`` is an explicit random init —
useful only to test shapes and formats.

``detectron2``: optional, not on PyPI; imported lazily, a missing install raises ImportError
with the exact command. ``config`` is a model-zoo config name, ``weights`` a path or URL
(default: the model zoo's checkpoint for that config).
"""
from __future__ import annotations

import logging
import os

import numpy as np

from fgalign.numbers import Finite, Share, Size
from fgalign.regions.base import Proposals, postprocess, register_proposer

log = logging.getLogger(__name__)

DETECTRON2_INSTALL = "pip install 'git+https://github.com/facebookresearch/detectron2.git'"


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available else ``cpu``; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def detections_to_proposals(boxes, scores, classes, class_names: list[str]) -> Proposals:
    """Detector outputs → Proposals labelled by class name.

    Args:
        boxes: (R, 4) x1y1x2y2 tensor or array; scores: (R,); classes: (R,) integer ids.
        class_names: id → name; ids outside it are labelled ``"class_<id>"``.
    """
    to_np = lambda x: x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    boxes, scores, classes = to_np(boxes), to_np(scores), to_np(classes).astype(np.int64)
    labels = [class_names[c] if 0 <= c < len(class_names) else f"class_{c}" for c in classes]
    return Proposals(boxes.reshape(-1, 4), scores.reshape(-1), labels)


def instances_to_proposals(instances, class_names: list[str]) -> Proposals:
    """detectron2 ``Instances`` (``pred_boxes.tensor``, ``scores``, ``pred_classes``) → Proposals."""
    return detections_to_proposals(instances.pred_boxes.tensor, instances.scores,
                                   instances.pred_classes, class_names)


@register_proposer("torchvision")
class TorchvisionProposer:
    """torchvision Faster R-CNN (ResNet-50 FPN v2) with COCO class names as labels."""

    def __init__(self, weights: str | None = "DEFAULT", weights_path: str | None = None,
                 device: str = "auto", score_thresh: Share = 0.05, min_size: Size = 800,
                 max_size: Size = 1333, max_regions: Size | None = 8, min_score: Finite = 0.0,
                 nms_iou: Share | None = 0.7, **model_kwargs):
        """Args:
            weights: torchvision weights enum name ("DEFAULT"), or None for random init.
            weights_path: local state-dict file (takes precedence over ``weights``).
            device: auto | cpu | cuda | cuda:N.
            score_thresh, min_size, max_size: passed to the torchvision model.
            max_regions, min_score, nms_iou: shared post-processing (see ``postprocess``).
            **model_kwargs: more torchvision FasterRCNN options (e.g. rpn_post_nms_top_n_test).
        """
        import torch
        from torchvision.models.detection import (
            FasterRCNN_ResNet50_FPN_V2_Weights,
            fasterrcnn_resnet50_fpn_v2,
        )

        enum = FasterRCNN_ResNet50_FPN_V2_Weights
        self.class_names = list(enum.DEFAULT.meta["categories"])  # static, no download
        kw = {"weights_backbone": None, "box_score_thresh": score_thresh, "min_size": min_size,
              "max_size": max_size, **model_kwargs}
        if weights_path is not None:
            model = fasterrcnn_resnet50_fpn_v2(weights=None, num_classes=91, **kw)
            model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        elif weights is None:
            log.warning("torchvision proposer with random weights: boxes are meaningless")
            model = fasterrcnn_resnet50_fpn_v2(weights=None, num_classes=91, **kw)
        else:
            try:
                model = fasterrcnn_resnet50_fpn_v2(weights=enum[weights] if isinstance(
                    weights, str) else weights, **kw)
            except (OSError, RuntimeError) as e:  # URLError is an OSError
                raise RuntimeError(f"could not load torchvision weights {weights!r} ({e}); "
                                   "offline, pass weights_path=<local state dict>") from e
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.post = {"max_regions": max_regions, "min_score": min_score, "nms_iou": nms_iou}

    def __call__(self, image: np.ndarray, given_boxes=None, given_labels=None) -> Proposals:
        import torch

        x = torch.from_numpy(np.require(image, requirements=["C", "W"]))  # copy if read-only
        x = x.permute(2, 0, 1).float() / 255.0
        with torch.inference_mode():
            out = self.model([x.to(self.device)])[0]  # boxes (R, 4), scores (R,), labels (R,)
        props = detections_to_proposals(out["boxes"], out["scores"], out["labels"],
                                        self.class_names)
        return postprocess(drop_unnamed(props), image.shape[:2], **self.post)


# torchvision's COCO category list keeps the 91 ids of the original annotation ids: id 0 and
# the ten ids COCO never used are placeholders, not classes.
UNNAMED_CLASSES = frozenset({"__background__", "N/A"})


def drop_unnamed(props: Proposals) -> Proposals:
    """Proposals without the boxes labelled by a placeholder id (``UNNAMED_CLASSES``).

    A trained COCO detector scores those ids near zero; a randomly initialised one does not,
    and "N/A" would otherwise become a region tag.
    """
    return props.select(np.flatnonzero([lab not in UNNAMED_CLASSES for lab in props.labels]))


def require_detectron2():
    """Import detectron2 or raise ImportError naming the install command."""
    try:
        import detectron2
    except ImportError as e:
        raise ImportError("the 'detectron2' proposer needs detectron2, which is not on PyPI; "
                          f"install it with: {DETECTRON2_INSTALL}") from e
    return detectron2


@register_proposer("detectron2")
class Detectron2Proposer:
    """detectron2 DefaultPredictor over a model-zoo config; class names from MetadataCatalog."""

    def __init__(self, config: str = "COCO-Detection/faster_rcnn_R_101_FPN_3x.yaml",
                 weights: str | None = None, score_thresh: Share = 0.3, device: str = "auto",
                 max_regions: Size | None = 8, min_score: Finite = 0.0,
                 nms_iou: Share | None = 0.7):
        """Args:
            config: model-zoo config name (or a path to a config file).
            weights: checkpoint path or URL (None: the model zoo's checkpoint for ``config``).
            score_thresh: the predictor's test-time score threshold.
            device: auto | cpu | cuda | cuda:N.
            max_regions, min_score, nms_iou: shared post-processing (see ``postprocess``).
        """
        require_detectron2()
        from detectron2 import model_zoo
        from detectron2.config import get_cfg
        from detectron2.data import MetadataCatalog
        from detectron2.engine import DefaultPredictor

        cfg = get_cfg()
        local = os.path.isfile(config)
        cfg.merge_from_file(config if local else model_zoo.get_config_file(config))
        if weights is None and local:
            raise ValueError("detectron2 proposer: a local config file needs weights=<path|URL>")
        cfg.MODEL.WEIGHTS = weights or model_zoo.get_checkpoint_url(config)
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = score_thresh
        cfg.MODEL.DEVICE = resolve_device(device)
        self.predictor = DefaultPredictor(cfg)
        self.input_format = cfg.INPUT.FORMAT  # "BGR" for the model zoo
        meta = MetadataCatalog.get(cfg.DATASETS.TEST[0]) if cfg.DATASETS.TEST else None
        self.class_names = list(getattr(meta, "thing_classes", []) or [])
        self.post = {"max_regions": max_regions, "min_score": min_score, "nms_iou": nms_iou}

    def __call__(self, image: np.ndarray, given_boxes=None, given_labels=None) -> Proposals:
        img = image[:, :, ::-1] if self.input_format == "BGR" else image
        instances = self.predictor(np.ascontiguousarray(img))["instances"].to("cpu")
        props = instances_to_proposals(instances, self.class_names)
        return postprocess(props, image.shape[:2], **self.post)
