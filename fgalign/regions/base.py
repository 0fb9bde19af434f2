"""Proposals, the proposer registry and the post-processing every proposer shares.

A proposer is a callable ``propose(image, given_boxes=None, given_labels=None) -> Proposals``
over an RGB ``uint8`` array of shape (H, W, 3). Boxes are ``[x1, y1, x2, y2]`` in pixels
(continuous coordinates: a box covering pixel columns 3..5 is ``x1=3, x2=6``).

    proposer = create_proposer("segment", max_regions=8)
    props = proposer(image)          # Proposals(boxes (R, 4), scores (R,), labels [R])
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fgalign import counters
from fgalign.registry import Registry

PROPOSERS = Registry("proposer")


def register_proposer(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a proposer class (or factory) under ``name``."""
    return PROPOSERS.register(name)


def create_proposer(name: str, **params: Any) -> Any:
    """Build the proposer registered as ``name``; an unknown name lists the known ones.

    When work counters are on (``fgalign.counters``), the proposer comes wrapped in a
    ``CountedProposer`` that reports every call; otherwise it is returned as built.
    """
    proposer = PROPOSERS.create(name, **params)
    if counters.enabled():
        counters.count("build", what=f"proposer:{name}")
        return CountedProposer(proposer, name)
    return proposer


class CountedProposer:
    """A proposer that reports each call as a ``proposer`` counter event (image key, regions).

    Behaves as the wrapped proposer (calls and attributes are delegated).
    """

    def __init__(self, proposer: Any, name: str):
        self.inner, self.name = proposer, name

    def __call__(self, image: np.ndarray, *args: Any, **kwargs: Any) -> Proposals:
        with counters.timed("proposer", 1, name=self.name, key=counters.image_key(image)) as ev:
            props = self.inner(image, *args, **kwargs)
            ev["regions"] = len(props)
        return props

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


def list_proposers() -> list[str]:
    """Sorted registered proposer names."""
    return PROPOSERS.list()


@dataclass
class Proposals:
    """Region proposals of one image."""

    boxes: np.ndarray  # float32 (R, 4) x1, y1, x2, y2 in pixels
    scores: np.ndarray  # float32 (R,)
    labels: list[str] = field(default_factory=list)  # R labels, "" when the proposer has none

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        if not self.labels:
            self.labels = [""] * len(self.boxes)
        self.labels = [str(x) for x in self.labels]
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise ValueError(f"proposals disagree in length: {len(self.boxes)} boxes, "
                             f"{len(self.scores)} scores, {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> Proposals:
        """No proposals (R = 0)."""
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), [])

    def select(self, idx: np.ndarray) -> Proposals:
        """The proposals at integer indices ``idx``, in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return Proposals(self.boxes[idx], self.scores[idx], [self.labels[i] for i in idx])


def nms_keep(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by non-maximum suppression (torchvision.ops.nms), highest score first."""
    if len(boxes) == 0 or iou >= 1.0:
        return np.argsort(-scores, kind="stable")
    import torch
    from torchvision.ops import nms

    keep = nms(torch.from_numpy(boxes.astype(np.float32)),
               torch.from_numpy(scores.astype(np.float32)), float(iou))
    return keep.numpy().astype(np.int64)


def sort_order(props: Proposals) -> np.ndarray:
    """Deterministic order: score descending, ties broken by y1, x1, y2, x2 ascending."""
    b = props.boxes
    return np.lexsort((b[:, 2], b[:, 3], b[:, 0], b[:, 1], -props.scores))


def postprocess(props: Proposals, image_hw: tuple[int, int], *, min_score: float = 0.0,
                nms_iou: float | None = 0.7, max_regions: int | None = 8,
                min_size: float = 1.0) -> Proposals:
    """Clip to the image, drop degenerate/low-score boxes, NMS, keep the best ``max_regions``.

    Args:
        props: raw proposals of one image.
        image_hw: (H, W) of the image.
        min_score: proposals scoring below this are dropped.
        nms_iou: IoU threshold of non-maximum suppression (None: no suppression).
        max_regions: keep at most this many, by score (None: all).
        min_size: boxes narrower or shorter than this many pixels (after clipping) are dropped.

    Returns:
        Proposals sorted by ``sort_order`` (deterministic for equal inputs).
    """
    h, w = image_hw
    boxes = props.boxes.copy()  # (R, 4)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    clipped = Proposals(boxes, props.scores, props.labels)
    ok = ((boxes[:, 2] - boxes[:, 0] >= min_size) & (boxes[:, 3] - boxes[:, 1] >= min_size)
          & (props.scores >= min_score) & np.isfinite(boxes).all(1) & np.isfinite(props.scores))
    kept = clipped.select(np.flatnonzero(ok))
    kept = kept.select(sort_order(kept))
    if nms_iou is not None and len(kept):
        keep = np.sort(nms_keep(kept.boxes, kept.scores, nms_iou))  # back to sort_order
        kept = kept.select(keep)
    if max_regions is not None:
        kept = kept.select(np.arange(min(len(kept), max_regions)))
    return kept


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes → (N, M)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=2)  # (N, M)
    area = lambda x: np.prod((x[:, 2:] - x[:, :2]).clip(0), axis=1)
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
