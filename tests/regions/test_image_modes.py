"""load_rgb reads every image mode faithfully: 16/32-bit integer grey scaled (not clipped) to 8
bits, palette / alpha / bilevel / CMYK converted, EXIF orientation applied.

The case ``sixteen-bit-image`` (a copy of ../shared/cases/sixteen-bit-image): ``same_16bit.png``
is ``same_8bit.png`` saved as a 16-bit grey PNG; both must give the same RGB (±1).
"""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fgalign.regions import ImageLoadError, load_rgb

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "sixteen-bit-image"
GREY = np.array([[0, 1, 127], [128, 254, 255]], np.uint8)  # (2, 3) 8-bit reference values


def _save(root: Path, name: str, im: Image.Image, fmt: str, **kw) -> str:
    im.save(root / name, format=fmt, **kw)
    return name


def _rgb(root, rel) -> np.ndarray:
    return np.asarray(load_rgb(root, rel)).astype(int)  # (H, W, 3)


def test_case_sixteen_bit_png_matches_its_eight_bit_twin():
    with Image.open(CASE / "same_16bit.png") as im:
        assert im.mode == "I;16"
    a, b = _rgb(CASE, "same_16bit.png"), _rgb(CASE, "same_8bit.png")
    assert a.shape == b.shape == (96, 96, 3)
    assert np.abs(a - b).max() <= 1
    assert b.min() == 87 and b.max() == 255  # not washed out to white


def test_case_gray16_half_range_is_mid_grey():
    a = _rgb(CASE, "gray16.png")  # values 0..32768 of 65535
    assert a.min() == 0 and a.max() == 128


@pytest.mark.parametrize("fmt,dtype,mode", [
    ("PNG", "<u2", "I;16"),   # PNG keeps 16 bits big-endian, Pillow opens I;16
    ("TIFF", "<u2", "I;16"),  # little-endian TIFF
    ("TIFF", ">u2", "I;16B"),  # big-endian samples in memory
    ("PPM", "<u2", "I"),      # 16-bit PGM opens as mode I with raw mode I;16B
])
def test_sixteen_bit_grey_is_scaled_by_65535(tmp_path, fmt, dtype, mode):
    arr16 = (GREY.astype(np.uint32) * 257).astype(dtype)  # the 8-bit values as 16-bit samples
    im = Image.fromarray(arr16)
    rel = _save(tmp_path, f"g.{fmt.lower()}", im, fmt)
    with Image.open(tmp_path / rel) as opened:
        assert opened.mode == mode
    out = _rgb(tmp_path, rel)
    assert out[..., 0].tolist() == GREY.tolist() and (out[..., 0] == out[..., 2]).all()


def test_sixteen_bit_in_memory_little_endian_mode(tmp_path):
    """I;16L (little-endian) decodes as I;16 after a round trip; scaled the same way."""
    im = Image.frombytes("I;16L", (3, 2), (GREY.astype("<u2") * 257).tobytes())
    rel = _save(tmp_path, "g.tif", im, "TIFF")
    assert _rgb(tmp_path, rel)[..., 1].tolist() == GREY.tolist()


def test_thirty_two_bit_signed_grey_is_scaled_by_int32_range(tmp_path):
    top = 2 ** 31 - 1
    arr = np.array([[0, top // 2, top], [-5, 1 << 24, top - 1]], np.int32)  # (2, 3)
    rel = _save(tmp_path, "g32.tif", Image.fromarray(arr), "TIFF")
    with Image.open(tmp_path / rel) as opened:
        assert opened.mode == "I"
    out = _rgb(tmp_path, rel)[..., 0]
    assert out.tolist() == [[0, 127, 255], [0, 2, 255]]  # (2**30-1)·255/top = 127.4998; -5 → 0


@pytest.mark.parametrize("mode", ["P", "LA", "1", "CMYK", "RGBA", "L", "RGB"])
def test_other_modes_convert_to_rgb(tmp_path, mode):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:, :3] = (255, 0, 0)  # left half red, right half black
    src = Image.fromarray(rgb)
    im = {"P": lambda: src.convert("P", palette=Image.Palette.ADAPTIVE, colors=4),
          "LA": lambda: src.convert("LA"), "1": lambda: src.convert("L").point(
              lambda v: 255 if v > 0 else 0).convert("1"),
          "CMYK": lambda: src.convert("CMYK"), "RGBA": lambda: src.convert("RGBA"),
          "L": lambda: src.convert("L"), "RGB": lambda: src}[mode]()
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    rel = _save(tmp_path, f"m.{fmt.lower()}", im, fmt, **({"quality": 100} if fmt == "JPEG"
                                                           else {}))
    with Image.open(tmp_path / rel) as opened:
        assert opened.mode == mode
    out = _rgb(tmp_path, rel)
    assert out.shape == (4, 6, 3)
    expect_left = {"LA": [76] * 3, "L": [76] * 3, "1": [255] * 3}.get(mode, [255, 0, 0])
    assert np.abs(out[:, 0] - expect_left).max() <= 2
    assert np.abs(out[:, 5]).max() <= 2


def test_exif_orientation_is_applied(tmp_path):
    """Orientation 6 (rotate 90° clockwise to display): a 6×4 stored image shows as 4×6."""
    stored = np.zeros((4, 6, 3), np.uint8)
    stored[0, 0] = (255, 255, 255)  # top-left pixel as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    rel = _save(tmp_path, "rot.png", Image.fromarray(stored), "PNG", exif=exif)
    out = _rgb(tmp_path, rel)
    assert out.shape == (6, 4, 3)  # (H, W) swapped
    assert out[0, 3].tolist() == [255, 255, 255]  # stored top-left → displayed top-right
    assert out.sum() == 3 * 255


def test_exif_orientation_on_sixteen_bit(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 3  # rotate 180°
    arr = (GREY.astype(np.uint16) * 257)
    rel = _save(tmp_path, "rot16.png", Image.fromarray(arr), "PNG", exif=exif)
    assert _rgb(tmp_path, rel)[..., 0].tolist() == GREY[::-1, ::-1].tolist()


def test_truncated_not_an_image_and_pixel_limit(tmp_path, monkeypatch):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(
        buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "ok.png").write_bytes(buf.getvalue())
    reasons = {}
    for rel in ("cut.png", "text.png"):
        with pytest.raises(ImageLoadError) as e:
            load_rgb(tmp_path, rel)
        reasons[rel] = e.value.reason
    assert reasons == {"cut.png": "truncated", "text.png": "corrupt"}
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 // 2 - 1)  # 2x is an error
    with pytest.raises(ImageLoadError) as e:
        load_rgb(tmp_path, "ok.png")
    assert e.value.reason == "decompression_bomb"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 - 1)  # just over: Pillow warns
    with pytest.raises(ImageLoadError) as e:
        load_rgb(tmp_path, "ok.png")
    assert e.value.reason == "decompression_bomb"
