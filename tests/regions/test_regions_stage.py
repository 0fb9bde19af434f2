"""The RegionProposer stage over dict-batches: rows in = rows out, per-row errors."""
import io

import numpy as np
import pytest
from PIL import Image

from fgalign.engine.batch import object_column
from fgalign.regions import RegionProposer


def _png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def root(tmp_path):
    scene = np.full((64, 64, 3), 230, np.uint8)
    scene[10:30, 10:30] = (220, 30, 30)
    scene[10:30, 30:50] = (35, 70, 225)
    good = _png(scene)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "scene.png").write_bytes(good)
    (tmp_path / "imgs" / "blank.png").write_bytes(_png(np.full((64, 64, 3), 230, np.uint8)))
    (tmp_path / "imgs" / "empty.png").write_bytes(b"")
    (tmp_path / "imgs" / "corrupt.png").write_bytes(b"\x89PNG garbage" * 20)
    (tmp_path / "imgs" / "truncated.png").write_bytes(good[: len(good) // 2])
    return tmp_path


def batch(paths, errors=None, **extra):
    out = {"uid": np.array([f"vqa:test:{i}" for i in range(len(paths))], dtype=object),
           "image_path": np.array(paths, dtype=object),
           "error": np.array(errors or [""] * len(paths), dtype=object)}
    out.update(extra)
    return out


def test_rows_in_rows_out_with_per_row_errors(root):
    paths = ["imgs/scene.png", "imgs/missing.png", "imgs/empty.png", "imgs/corrupt.png",
             "imgs/truncated.png", "../outside.png", "imgs/blank.png", "imgs/scene.png"]
    errors = [""] * 7 + ["read:missing_field"]
    out = RegionProposer(str(root))(batch(paths, errors))
    assert out["error"].tolist() == [
        "", "regions:missing", "regions:empty_file", "regions:corrupt", "regions:truncated",
        "regions:path_escapes_root", "", "read:missing_field"]
    assert out["uid"].tolist() == [f"vqa:test:{i}" for i in range(8)]
    np.testing.assert_array_equal(out["boxes"][0], [[10, 10, 30, 30], [30, 10, 50, 30]])
    assert out["boxes"][0].dtype == np.float32 and out["box_scores"][0].dtype == np.float32
    assert out["box_labels"][0] == ["", ""]
    for i in range(1, 8):  # errors, blank image (R = 0) and pre-errored rows: empty outputs
        assert out["boxes"][i].shape == (0, 4) and out["box_scores"][i].shape == (0,)
        assert out["box_labels"][i] == []
    assert all(out[k].dtype == object and len(out[k]) == 8
               for k in ("boxes", "box_scores", "box_labels", "error"))


def test_decompression_bomb_row(root, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    out = RegionProposer(str(root))(batch(["imgs/scene.png"]))
    assert out["error"].tolist() == ["regions:decompression_bomb"]


def test_max_regions_and_min_score_reach_the_proposer(root):
    out = RegionProposer(str(root), max_regions=1)(batch(["imgs/scene.png"]))
    assert out["boxes"][0].shape == (1, 4)
    out = RegionProposer(str(root), min_score=0.5)(batch(["imgs/scene.png"]))
    assert out["boxes"][0].shape == (0, 4) and out["error"][0] == ""


def test_dataset_boxes_from_object_arrays_with_names(root):
    given = object_column([np.array([[1, 2, 30, 40, 0.9], [5, 5, 9, 9, 0.5]]),
                           [], [[0, 0, 8, 8]]])
    names = object_column([np.array(["circle", "star"], dtype=object), [], ["square"]])
    b = batch(["imgs/scene.png", "imgs/blank.png", "imgs/missing.png"],
              given_boxes=given, object_names=names)
    out = RegionProposer(str(root), proposer="dataset", max_regions=1)(b)
    np.testing.assert_array_equal(out["boxes"][0], [[1, 2, 30, 40], [5, 5, 9, 9]])
    assert out["box_labels"][0] == ["circle", "star"]  # dataset order, no max_regions cut
    assert out["boxes"][1].shape == (0, 4)
    assert out["error"].tolist() == ["", "", "regions:missing"]


def test_a_failing_proposer_marks_only_its_row(root):
    stage = RegionProposer(str(root))

    def boom(image, given_boxes=None, given_labels=None):
        if image.mean() > 200:
            raise RuntimeError("boom")
        raise AssertionError("unexpected")

    stage.proposer = boom
    out = stage(batch(["imgs/blank.png", "imgs/missing.png"]))
    assert out["error"].tolist() == ["regions:proposer_failed:RuntimeError", "regions:missing"]


def test_empty_batch():
    out = RegionProposer(".")(batch([]))
    assert len(out["boxes"]) == 0 and len(out["error"]) == 0
