"""Two simple proposers: ``selective_search`` (opencv-contrib) and ``dataset`` (given boxes).

``selective_search`` runs OpenCV's ximgproc selective search in fast mode; its output order is
its ranking, so the score of the k-th box is ``1 / (1 + k)``; the shared post-processing then
applies NMS and keeps the best ``max_regions``.

``dataset`` returns the boxes a dataset provides (VCR metadata ``boxes``, 4 or 5 values each,
the 5th a detector score). They keep the dataset's order and are never suppressed or
truncated, because box index = object index and VCR references point at it; they are only
clipped to the image (a box clipped to nothing becomes a 1-pixel box, so indices stay valid).
"""
from __future__ import annotations

import numpy as np

from fgalign.numbers import Finite, Share, Size
from fgalign.regions.base import Proposals, postprocess, register_proposer


@register_proposer("selective_search")
class SelectiveSearchProposer:
    """OpenCV selective search (fast mode), ranked, NMS'd, top ``max_regions``."""

    def __init__(self, max_side: Size = 500, min_box: Share = 0.01, max_regions: Size | None = 8,
                 min_score: Finite = 0.0, nms_iou: Share | None = 0.5):
        """Args:
            max_side: images larger than this are downscaled for the search (boxes scaled back).
            min_box: drop boxes whose side is below this fraction of the image side.
            max_regions, min_score, nms_iou: shared post-processing (see ``postprocess``).
        """
        import cv2

        if not hasattr(cv2, "ximgproc"):
            raise ImportError("selective_search needs opencv-contrib: "
                              "pip install opencv-contrib-python-headless")
        self.max_side = max_side
        self.min_box = min_box
        self.post = {"max_regions": max_regions, "min_score": min_score, "nms_iou": nms_iou}

    def __call__(self, image: np.ndarray, given_boxes=None, given_labels=None) -> Proposals:
        import cv2

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale)))) \
            if scale < 1.0 else image
        ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        ss.setBaseImage(np.ascontiguousarray(small[:, :, ::-1]))  # OpenCV wants BGR
        ss.switchToSelectiveSearchFast()
        rects = np.asarray(ss.process(), dtype=np.float32).reshape(-1, 4)  # (N, 4) x, y, w, h
        if len(rects) == 0:
            return Proposals.empty()
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1) / scale
        scores = 1.0 / (1.0 + np.arange(len(boxes), dtype=np.float32))
        return postprocess(Proposals(boxes, scores), (h, w), min_size=self.min_box * min(h, w),
                           **self.post)


@register_proposer("dataset")
class DatasetProposer:
    """Boxes given by the dataset, in dataset order, labelled with object names when passed."""

    def __init__(self, **_ignored):
        pass

    def __call__(self, image: np.ndarray, given_boxes=None, given_labels=None) -> Proposals:
        if given_boxes is None or len(given_boxes) == 0:
            return Proposals.empty()
        h, w = image.shape[:2]
        arr = np.asarray([list(b) for b in given_boxes], dtype=np.float32)  # (R, 4 or 5)
        if arr.ndim != 2 or arr.shape[1] not in (4, 5):
            raise ValueError(f"given_boxes must be (R, 4) or (R, 5), got shape {arr.shape}")
        boxes = arr[:, :4].copy()
        boxes[:, 0], boxes[:, 2] = boxes[:, 0].clip(0, w - 1), boxes[:, 2].clip(0, w)
        boxes[:, 1], boxes[:, 3] = boxes[:, 1].clip(0, h - 1), boxes[:, 3].clip(0, h)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)  # at least 1 px, inside
        scores = arr[:, 4] if arr.shape[1] == 5 else np.ones(len(arr), np.float32)
        labels = [str(x) for x in given_labels] if given_labels is not None else []
        if labels and len(labels) != len(boxes):
            raise ValueError(f"{len(labels)} labels for {len(boxes)} given boxes")
        return Proposals(boxes, scores, labels)
