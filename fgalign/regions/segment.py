"""``segment``: a weights-free proposer — background subtraction + colour clusters + components.

Made for the synthetic world (flat shapes on a plain or lightly textured background) and works,
crudely, on any image:

1. background colour = per-channel median of the image border (robust to objects touching it);
2. foreground = pixels farther than ``fg_threshold`` (RGB distance) from the background;
3. foreground pixels are grouped into colour clusters by greedy mode seeking in a feature space
   of chromaticity (r, g) / (r + g + b) — invariant to the darker outline the renderer draws —
   plus ``intensity_weight`` × brightness (so black/gray/white stay apart);
4. each cluster mask is split into 8-connected components (optionally after an ``open_px``
   morphological opening); components smaller than ``min_area`` (image fraction) are dropped.

Touching objects of *different* colours become separate boxes; touching objects of the *same*
colour merge into one (the synthetic world never places same-colour objects touching). On
photos this is a crude colour-blob proposer: prefer ``torchvision``/``detectron2`` there.
Score = component area / image area (bigger blobs first).
"""
from __future__ import annotations

import cv2
import numpy as np

from fgalign.numbers import Finite, NonNegative, Positive, Share, Size
from fgalign.regions.base import Proposals, postprocess, register_proposer


def background_color(image: np.ndarray, border: int = 2) -> np.ndarray:
    """Median RGB colour of the ``border``-pixel frame of an (H, W, 3) image → (3,) float."""
    h, w = image.shape[:2]
    b = max(1, min(border, h // 2, w // 2))
    frame = np.concatenate([image[:b].reshape(-1, 3), image[-b:].reshape(-1, 3),
                            image[:, :b].reshape(-1, 3), image[:, -b:].reshape(-1, 3)])
    return np.median(frame.astype(np.float64), axis=0)


def color_features(pixels: np.ndarray, intensity_weight: float) -> np.ndarray:
    """(N, 3) RGB → (N, 3) features: chromaticity r, g and weighted brightness, all in [0, 1]."""
    p = pixels.astype(np.float64)
    s = p.sum(axis=1, keepdims=True)  # (N, 1)
    chroma = p[:, :2] / np.maximum(s, 1.0)  # (N, 2)
    bright = s / (3 * 255.0) * intensity_weight  # (N, 1)
    return np.concatenate([chroma, bright], axis=1)


def color_clusters(feats: np.ndarray, radius: float, min_count: int,
                   max_clusters: int = 16) -> np.ndarray:
    """Greedy mode seeking: cluster id per feature row (-1 = unassigned).

    Repeatedly takes the densest cell of a grid histogram over unassigned rows, moves its centre
    to the mean of the unassigned rows within ``radius`` (two mean-shift steps), and assigns them;
    stops when a mode has fewer than ``min_count`` members.
    """
    labels = np.full(len(feats), -1, dtype=np.int64)
    cells = np.floor(feats / radius).astype(np.int64)  # (N, 3) grid cell of each row
    for k in range(max_clusters):
        free = np.flatnonzero(labels < 0)
        if len(free) < min_count:
            break
        _, inv, counts = np.unique(cells[free], axis=0, return_inverse=True,
                                      return_counts=True)
        centre = feats[free[inv.reshape(-1) == int(np.argmax(counts))]].mean(axis=0)
        for _ in range(2):
            near = free[np.linalg.norm(feats[free] - centre, axis=1) <= radius]
            centre = feats[near].mean(axis=0)
        near = free[np.linalg.norm(feats[free] - centre, axis=1) <= radius]
        if len(near) < min_count:
            break
        labels[near] = k
    return labels


@register_proposer("segment")
class SegmentProposer:
    """Colour-blob proposals (see module docstring). No labels: regions are tagged by CLIP."""

    def __init__(self, fg_threshold: NonNegative = 40.0, color_radius: Positive = 0.1,
                 intensity_weight: NonNegative = 0.25, min_area: Share = 0.003,
                 open_px: Size = 1, max_regions: Size | None = 8, min_score: Finite = 0.0,
                 nms_iou: Share | None = 0.7, max_side: Size | None = None):
        """Args:
            fg_threshold: RGB distance from the background colour that makes a pixel foreground.
            color_radius: radius of a colour cluster in feature space (chromaticity units).
            intensity_weight: weight of brightness relative to chromaticity in the features.
            min_area: smallest component kept, as a fraction of the image area.
            open_px: side of a square opening applied to each cluster mask (1: none; on the
                synthetic world opening erodes thin star/cross arms and lowers box IoU).
            max_regions, min_score, nms_iou: shared post-processing (see ``postprocess``).
            max_side: images larger than this are downscaled for the search, boxes scaled
                back (None: full size; on photos, 256 makes the search several times faster).
        """
        self.max_side = max_side
        self.fg_threshold = fg_threshold
        self.color_radius = color_radius
        self.intensity_weight = intensity_weight
        self.min_area = min_area
        self.open_px = open_px
        self.post = {"max_regions": max_regions, "min_score": min_score, "nms_iou": nms_iou}

    def foreground(self, image: np.ndarray) -> np.ndarray:
        """Bool (H, W) foreground mask."""
        dist = np.linalg.norm(image.astype(np.float64) - background_color(image), axis=2)
        return dist > self.fg_threshold

    def __call__(self, image: np.ndarray, given_boxes=None, given_labels=None) -> Proposals:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w)) if self.max_side else 1.0
        if scale < 1.0:
            small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
            props = self._search(small)
            sy, sx = h / small.shape[0], w / small.shape[1]
            boxes = props.boxes * np.array([sx, sy, sx, sy], np.float32)
            return postprocess(Proposals(boxes, props.scores), (h, w), **self.post)
        return self._search(image)

    def _search(self, image: np.ndarray) -> Proposals:
        h, w = image.shape[:2]
        fg = self.foreground(image)  # (H, W)
        min_px = max(1, round(self.min_area * h * w))
        ys, xs = np.nonzero(fg)
        feats = color_features(image[ys, xs], self.intensity_weight)  # (N, 3)
        cluster = color_clusters(feats, self.color_radius, min_px)  # (N,)
        kernel = np.ones((self.open_px, self.open_px), np.uint8) if self.open_px > 1 else None
        boxes, scores = [], []
        for k in range(cluster.max(initial=-1) + 1):
            mask = np.zeros((h, w), np.uint8)
            mask[ys[cluster == k], xs[cluster == k]] = 1
            if kernel is not None:
                mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for x, y, bw, bh, area in stats[1:]:  # row 0 is the background
                if area >= min_px:
                    boxes.append([x, y, x + bw, y + bh])
                    scores.append(area / (h * w))
        if not boxes:
            return Proposals.empty()
        return postprocess(Proposals(np.array(boxes), np.array(scores)), (h, w), **self.post)
