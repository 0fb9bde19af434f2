"""Region geometry for the adaptation's box features (``adapt.box_features``).

The frozen region embeddings cannot carry size or position: each crop is resized to the
backbone's input before it is embedded (``fgalign.regions.crops``). The regions stage keeps
each region's box (``boxes``, (R, 4) x1 y1 x2 y2 in pixels of the upright image), so the
adaptation can give the fine-grained heads what the crops lost:

    region_geom (R, 5) float32 = [cx / W, cy / H, w / W, h / H, (w·h) / (W·H)]

with (cx, cy) the box centre, (w, h) its width and height and (W, H) the upright image size,
every value clipped to [0, 1]. ``fgalign.adapt.module.BoxAdapter`` maps it into the region
embedding. The five numbers are the normalised box-plus-area encoding of the spatial features
used by region-based VQA models (e.g. Anderson et al., "Bottom-up and top-down attention",
CVPR 2018, and UNITER/LXMERT's 5- or 7-d box features: corners, width, height, area).

Rows of SNLI-VE's text-only protocol (``train_text``: noun phrases stand in for regions) have no
boxes: they get no ``region_geom`` and the box adapter leaves them unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from fgalign.align.batch import to_array

GEOM_DIM = 5  # cx, cy, w, h, area
ImageSize = Callable[[str], tuple[int, int]]  # image_path -> (W, H) of the upright image
ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def box_geometry(boxes, width: float, height: float) -> np.ndarray:
    """Normalised geometry of pixel boxes: (R, 5) float32 ``[cx, cy, w, h, area]`` in [0, 1].

    Args:
        boxes: (R, 4) x1 y1 x2 y2 in pixels (R may be 0).
        width, height: the image size in pixels (> 0).

    Raises:
        ValueError: a non-positive image size, or boxes not of shape (R, 4).
    """
    if not (width > 0 and height > 0):
        raise ValueError(f"box geometry needs a positive image size, got {width}×{height}")
    b = np.asarray(boxes, np.float64)
    if b.size == 0:
        b = np.zeros((0, 4))
    elif b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must be (R, 4) x1 y1 x2 y2, got shape {b.shape}")
    x1, x2 = np.clip(b[:, 0], 0, width), np.clip(b[:, 2], 0, width)
    y1, y2 = np.clip(b[:, 1], 0, height), np.clip(b[:, 3], 0, height)
    w, h = np.maximum(x2 - x1, 0) / width, np.maximum(y2 - y1, 0) / height
    cx, cy = (x1 + x2) / (2 * width), (y1 + y2) / (2 * height)
    return np.stack([cx, cy, w, h, w * h], axis=1).astype(np.float32)


def image_size_reader(root: str | Path) -> ImageSize:
    """``image_path -> (W, H)`` of the upright image under ``root``, read from the file header
    (no pixel decoding), EXIF orientation applied as ``fgalign.regions.crops.to_rgb`` does;
    cached per path.

    Raises (when called):
        fgalign.regions.crops.ImageLoadError: the path escapes ``root`` or is empty.
        OSError: the file cannot be opened as an image.
    """
    from PIL import Image

    # fgalign.regions' package imports cv2 and the detectors: adaptation loads it only here
    from fgalign.regions.crops import resolve_image_path

    @lru_cache(maxsize=200_000)
    def size(image_path: str) -> tuple[int, int]:
        with Image.open(resolve_image_path(root, image_path)) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
        return (h, w) if orientation in ROTATED else (w, h)

    return size


def with_geometry(rows: Iterable[dict], image_size: ImageSize) -> list[dict]:
    """Rows plus ``region_geom`` (R, 5) (see the module docstring); rows in = rows out.

    Error rows and rows without regions get a (0, 5) array.

    Raises:
        ValueError: a row's ``boxes`` and ``region_embs`` disagree in length (the geometry
            would land on the wrong regions).
    """

    out = []
    for row in rows:
        row = dict(row)
        regions = to_array(row.get("region_embs"), 2)
        boxes = to_array(row.get("boxes"), 2)
        if row.get("error") or len(regions) == 0:
            row["region_geom"] = np.zeros((0, GEOM_DIM), np.float32)
        else:
            if len(boxes) != len(regions):
                raise ValueError(f"row {row.get('uid')}: {len(boxes)} boxes for {len(regions)} "
                                 "region embeddings; adapt.box_features needs one box per region")
            w, h = image_size(str(row.get("image_path") or ""))
            row["region_geom"] = box_geometry(boxes, w, h)
        out.append(row)
    return out


PAIR_DIM = 5  # dx, dy, log area ratio, IoU, same region


def pair_geometry(geom, eps: float = 1e-4):
    """Relative geometry of every ordered pair of regions, from ``region_geom``.

    Args:
        geom: (B, R, 5) torch tensor ``[cx, cy, w, h, area]`` (``box_geometry``; zero padding).

    Returns:
        (B, R, R, 4) ``[dx, dy, log area ratio, IoU]`` of the pair (r1, r2): dx = cx₂ − cx₁,
        dy = cy₂ − cy₁ (y downwards, so dy > 0: r2 is below r1), ln((a₁ + ε)/(a₂ + ε)) clipped
        to [−5, 5], and the boxes' intersection over union. These are the pairwise box
        features of relation networks over detector boxes (e.g. Hu et al., "Relation networks
        for object detection", CVPR 2018, which use log-ratios of centre offsets and sizes);
        here in normalised image units.
    """
    import torch

    cx, cy, w, h, a = geom.unbind(-1)  # (B, R) each
    dx = cx[:, None, :] - cx[:, :, None]  # (B, R1, R2): cx2 − cx1
    dy = cy[:, None, :] - cy[:, :, None]
    lar = (torch.log(a[:, :, None] + eps) - torch.log(a[:, None, :] + eps)).clamp(-5.0, 5.0)
    x1, x2, y1, y2 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    ix = (torch.minimum(x2[:, :, None], x2[:, None, :])
          - torch.maximum(x1[:, :, None], x1[:, None, :])).clamp(min=0)
    iy = (torch.minimum(y2[:, :, None], y2[:, None, :])
          - torch.maximum(y1[:, :, None], y1[:, None, :])).clamp(min=0)
    inter = ix * iy
    union = (w * h)[:, :, None] + (w * h)[:, None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    return torch.stack([dx, dy, lar, iou], -1)
