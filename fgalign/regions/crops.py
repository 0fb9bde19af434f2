"""Image loading with per-row failure reasons, and region crops with context padding."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

log = logging.getLogger(__name__)


class ImageLoadError(Exception):
    """An image could not be read; ``reason`` is a short tag for ``error="<stage>:<reason>"``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def resolve_image_path(root: str | Path, rel: str) -> Path:
    """``root / rel``, refusing empty paths and paths that escape ``root``."""
    if not rel:
        raise ImageLoadError("no_image_path")
    base = Path(root).resolve()
    path = (base / rel).resolve()
    if base != path and base not in path.parents:
        raise ImageLoadError("path_escapes_root", rel)
    return path


def upright_rgb(im: Image.Image) -> Image.Image:
    """``im`` as a viewer shows it, in RGB: the EXIF Orientation tag applied, then converted.

    EXIF orientation (TIFF/EXIF 2.3, tag 0x0112) is applied with ``PIL.ImageOps.exif_transpose``,
    as detectron2's ``read_image`` and image viewers do, so boxes in the displayed image's
    pixels (dataset annotations, VCR metadata) land on the right content. Grayscale, CMYK,
    palette and other modes are converted by ``Image.convert("RGB")``. A malformed EXIF block
    leaves the pixels as stored (logged), never fails the image.
    """
    try:
        im = ImageOps.exif_transpose(im)
    except Exception as e:  # noqa: BLE001  (bad EXIF metadata: the pixels are still readable)
        log.warning("ignoring unreadable EXIF orientation of %s: %r",
                    getattr(im, "filename", "an image"), e)
    return im if im.mode == "RGB" else im.convert("RGB")


def load_rgb(root: str | Path, rel: str) -> Image.Image:
    """Fully decoded RGB image at ``root / rel``, upright (EXIF orientation applied by
    ``upright_rgb``).

    Raises:
        ImageLoadError: reason ``missing``, ``empty_file``, ``decompression_bomb`` (more than
        PIL's ``Image.MAX_IMAGE_PIXELS``), ``truncated``, ``corrupt``, ``path_escapes_root``
        or ``no_image_path``.
    """
    path = resolve_image_path(root, rel)
    if not path.is_file():
        raise ImageLoadError("missing", str(rel))
    if path.stat().st_size == 0:
        raise ImageLoadError("empty_file", str(rel))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                out = upright_rgb(im)
                return out.copy() if out is im else out
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError("decompression_bomb", str(e)) from e
    except OSError as e:
        reason = "truncated" if "truncated" in str(e).lower() else "corrupt"
        raise ImageLoadError(reason, f"{rel}: {e}") from e
    except (ValueError, SyntaxError, Image.UnidentifiedImageError) as e:  # pragma: no cover
        raise ImageLoadError("corrupt", f"{rel}: {e}") from e


def padded_box(box, context_pad: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer crop window of ``box`` grown by ``context_pad`` × its side on each side, clipped.

    The window always holds at least one pixel, inside the image.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    px, py = context_pad * max(x2 - x1, 0.0), context_pad * max(y2 - y1, 0.0)
    left = int(np.clip(np.floor(x1 - px), 0, width - 1))
    top = int(np.clip(np.floor(y1 - py), 0, height - 1))
    right = int(np.clip(np.ceil(x2 + px), left + 1, width))
    bottom = int(np.clip(np.ceil(y2 + py), top + 1, height))
    return left, top, right, bottom


def crop_regions(image, boxes, context_pad: float = 0.1) -> list[Image.Image]:
    """Crops of ``boxes`` (R, 4) with context padding, as PIL images (the backbone resizes them).

    Args:
        image: PIL image or (H, W, 3) uint8 array.
        boxes: (R, 4) x1y1x2y2 pixels.
        context_pad: padding added on each side, as a fraction of the box's width/height.
    """
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    w, h = pil.size
    return [pil.crop(padded_box(b, context_pad, w, h)) for b in np.asarray(boxes).reshape(-1, 4)]
