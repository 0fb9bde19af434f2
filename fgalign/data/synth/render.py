"""Render scene graphs to images with PIL, and measure how visible each object is.

Rendering is deterministic: the background texture comes from the scene's own generator, shapes
are drawn 2x supersampled and downsampled with a fixed filter, and PNGs carry no timestamps.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from fgalign.data.synth.scene import COLORS

SUPERSAMPLE = 2  # draw at 2x and downsample: smooth edges
TEXTURE_GRID = 8  # background noise lattice (cells per side), upsampled smoothly
TEXTURE_AMPLITUDE = 7  # max background deviation per channel (0-255 scale)


def _mask(polygon: list[list[float]], side: int) -> np.ndarray:
    """Boolean (side, side) mask of a polygon."""
    img = Image.new("1", (side, side), 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in polygon], fill=1)
    return np.asarray(img, dtype=bool)


def visible_fractions(objects: list[dict], side: int) -> list[float]:
    """Fraction of each object's area not covered by objects drawn after it (list order)."""
    masks = [_mask(o["polygon"], side) for o in objects]  # each (side, side)
    covered = np.zeros((side, side), dtype=bool)
    out = [0.0] * len(objects)
    for k in range(len(objects) - 1, -1, -1):
        area = masks[k].sum()
        out[k] = float((masks[k] & ~covered).sum() / area) if area else 0.0
        covered |= masks[k]
    return out


def render_scene(scene: dict, rng: np.random.Generator) -> Image.Image:
    """RGB image of ``scene`` on a pale, lightly textured background."""
    side = scene["width"]
    big = side * SUPERSAMPLE
    noise = rng.uniform(-TEXTURE_AMPLITUDE, TEXTURE_AMPLITUDE, size=(TEXTURE_GRID, TEXTURE_GRID, 3))
    bg = np.clip(np.asarray(scene["background"], dtype=np.float64) + noise, 0, 255)
    img = Image.fromarray(bg.astype(np.uint8), "RGB").resize((big, big), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for o in scene["objects"]:
        pts = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in o["polygon"]]
        edge = tuple(int(c * 0.7) for c in COLORS[o["color"]])
        draw.polygon(pts, fill=COLORS[o["color"]], outline=edge, width=SUPERSAMPLE)
    return img.resize((side, side), Image.Resampling.LANCZOS)


def png_bytes(img: Image.Image) -> bytes:
    """Deterministic PNG encoding (no metadata chunks, fixed compression)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6, optimize=False)
    return buf.getvalue()
