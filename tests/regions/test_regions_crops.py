"""Crops with context padding, and image loading with per-row failure reasons."""
import io

import numpy as np
import pytest
from PIL import Image

from fgalign.regions import ImageLoadError, crop_regions, load_rgb, padded_box


def test_padded_box_grows_by_fraction_of_side_and_clips_at_borders():
    assert padded_box([10, 20, 30, 30], 0.1, 64, 64) == (8, 19, 32, 31)
    assert padded_box([0, 0, 10, 10], 0.5, 64, 64) == (0, 0, 15, 15)
    assert padded_box([50, 50, 64, 64], 0.5, 64, 64) == (43, 43, 64, 64)
    assert padded_box([10.4, 10.6, 20.2, 20.5], 0.0, 64, 64) == (10, 10, 21, 21)
    assert padded_box([64, 64, 64, 64], 0.2, 64, 64) == (63, 63, 64, 64)  # never empty


def test_crop_regions_sizes_and_content():
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 30:50] = 255
    crops = crop_regions(img, np.array([[30, 10, 50, 20], [0, 0, 60, 40]], np.float32), 0.0)
    assert [c.size for c in crops] == [(20, 10), (60, 40)]
    assert np.asarray(crops[0]).min() == 255
    padded = crop_regions(Image.fromarray(img), [[30, 10, 50, 20]], context_pad=0.25)[0]
    assert padded.size == (30, 16)  # 5 px each side; 2.5 px rounded outward: rows 7..23
    assert crop_regions(img, np.zeros((0, 4))) == []


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def root(tmp_path):
    good = _png(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (tmp_path / "good.png").write_bytes(good)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "corrupt.png").write_bytes(b"this is not an image at all" * 10)
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "big.png").write_bytes(_png(np.zeros((64, 64, 3), np.uint8)))
    return tmp_path


def test_load_rgb_reads_good_images(root):
    assert load_rgb(root, "good.png").size == (32, 32)


@pytest.mark.parametrize("rel,reason", [
    ("missing.png", "missing"), ("empty.png", "empty_file"), ("corrupt.png", "corrupt"),
    ("truncated.png", "truncated"), ("../good.png", "path_escapes_root"), ("", "no_image_path"),
])
def test_load_rgb_failure_reasons(root, rel, reason):
    with pytest.raises(ImageLoadError) as e:
        load_rgb(root, rel)
    assert e.value.reason == reason


def test_decompression_bomb_uses_pils_limit(root, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageLoadError) as e:
        load_rgb(root, "big.png")  # 4096 px > 1000
    assert e.value.reason == "decompression_bomb"


@pytest.mark.parametrize("orientation,stored_from_upright", [
    (1, None), (3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90),
    (8, Image.Transpose.ROTATE_270)])
def test_load_rgb_applies_exif_orientation(tmp_path, orientation, stored_from_upright):
    """A photo stored sideways with its EXIF Orientation tag loads upright, pixel for pixel."""
    upright = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10  # (H=2, W=3, 3)
    im = Image.fromarray(upright)
    stored = im.transpose(stored_from_upright) if stored_from_upright is not None else im
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "p.png", exif=exif.tobytes())  # PNG: lossless, keeps EXIF
    np.testing.assert_array_equal(np.asarray(load_rgb(tmp_path, "p.png")), upright)


def test_load_rgb_converts_gray_and_cmyk(tmp_path):
    Image.fromarray(np.array([[0, 128, 255]], np.uint8)).save(tmp_path / "g.png")
    np.testing.assert_array_equal(np.asarray(load_rgb(tmp_path, "g.png"))[0, :, 0], [0, 128, 255])
    cmyk = Image.new("CMYK", (1, 1), (255, 0, 0, 0))  # full cyan → RGB (0, 255, 255)
    cmyk.save(tmp_path / "c.tif")
    assert np.asarray(load_rgb(tmp_path, "c.tif"))[0, 0].tolist() == [0, 255, 255]
