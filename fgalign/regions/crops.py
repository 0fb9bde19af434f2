"""Image loading with per-row failure reasons, and region crops with context padding."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

INT16_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}  # unsigned 16-bit grey
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


def _sample_bits(im: Image.Image) -> int:
    """Bits per stored sample of an integer grey image (mode ``I;16*`` or ``I``), read from the
    decoder's raw mode before ``load`` (a 16-bit PGM opens as mode ``I`` with raw mode
    ``I;16B``); 32 when the decoder does not say."""
    if im.mode in INT16_MODES:
        return 16
    for tile in getattr(im, "tile", None) or []:
        args = tile[3] if isinstance(tile, tuple) and len(tile) > 3 else getattr(tile, "args", "")
        raw = args if isinstance(args, str) else (args[0] if args else "")
        if isinstance(raw, str) and raw.startswith("I;16"):
            return 16
    return 32


def to_rgb(im: Image.Image, bits: int | None = None) -> Image.Image:
    """RGB (8 bits per channel) of a decoded PIL image, upright as its EXIF orientation says.

    Integer grey images are scaled by their sample range, not clipped (``convert("RGB")``
    alone clips every value above 255 to white): a ``bits``-bit sample v becomes
    ``round(v * 255 / top)``: top = 65535 for 16-bit samples (``I;16``, ``I;16B``, ``I;16L``,
    or ``I`` holding 16-bit samples), top = 2**31 - 1 for 32-bit signed ``I``, whose negative
    values become 0 (scikit-image's ``img_as_ubyte`` convention for signed input). Float
    images (mode ``F``) have no sample range and are left to Pillow (clipped). ``bits`` defaults
    to what ``_sample_bits`` reads (call it before ``load`` for an ``I`` image). Every other
    mode (L, P, LA, 1, CMYK, RGBA, YCbCr, ...) goes through Pillow's ``convert("RGB")``;
    alpha is dropped. EXIF orientation is applied (``ImageOps.exif_transpose``), as browsers
    and Detectron2's ``read_image`` show the picture.
    """
    bits = bits or _sample_bits(im)
    try:
        upright = ImageOps.exif_transpose(im)
        im = upright if upright is not None else im
    except Exception as e:  # noqa: BLE001  (bad EXIF metadata: the pixels are still readable)
        log.warning("ignoring unreadable EXIF orientation of %s: %r",
                    getattr(im, "filename", "an image"), e)
    if im.mode in INT16_MODES or im.mode == "I":
        top = 65535.0 if bits == 16 else 2.0 ** 31 - 1  # largest sample value
        a = np.clip(np.asarray(im, dtype=np.float64), 0, None) * (255.0 / top)  # (H, W)
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    return im.convert("RGB")


def upright_rgb(im: Image.Image) -> Image.Image:
    """``im`` as a viewer shows it, in 8-bit RGB (``to_rgb``: EXIF orientation applied)."""
    return to_rgb(im)


def load_rgb(root: str | Path, rel: str) -> Image.Image:
    """Fully decoded RGB image at ``root / rel`` (8 bits per channel, see ``to_rgb``).

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
                bits = _sample_bits(im)  # the decoder's raw mode is gone after load
                im.load()
                return to_rgb(im, bits)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError("decompression_bomb", str(e)) from e
    except Image.UnidentifiedImageError as e:  # an OSError: not an image Pillow can read
        raise ImageLoadError("corrupt", f"{rel}: {e}") from e
    except OSError as e:  # the file name may itself contain "truncated": look past it
        truncated = "truncated" in str(e).replace(str(path), "").lower()
        raise ImageLoadError("truncated" if truncated else "corrupt", f"{rel}: {e}") from e
    except (ValueError, SyntaxError) as e:  # pragma: no cover
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
