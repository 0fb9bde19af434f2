"""Box features of the adaptation (``adapt.box_features``): geometry, batches, module, transfer."""
import numpy as np
import pytest
import torch
from PIL import Image
from toy_world import SIZE_IMAGE, make_size_rows

from fgalign.adapt import TaskStore, leave_one_out
from fgalign.adapt.data import TRAIN_TEXT
from fgalign.adapt.geometry import box_geometry, image_size_reader, with_geometry
from fgalign.adapt.module import AdaptedScorer
from fgalign.align import collate
from fgalign.load import build_config
from fgalign.regions.crops import ImageLoadError

SIZES = {"train": 150, "val": 60, "test": 120}
TASKS = ("vqa", "snli_ve", "vcr")


def test_box_geometry_exact_values():
    boxes = [[0, 0, 50, 25], [25, 50, 75, 100], [-10, 0, 110, 40]]  # the last is clipped
    got = box_geometry(np.array(boxes, np.float32), 100, 80)
    want = [[0.25, 0.15625, 0.5, 0.3125, 0.15625],
            [0.5, 0.8125, 0.5, 0.375, 0.1875],  # y2 = 100 is clipped to the height 80: cy = 65/80
            [0.5, 0.25, 1.0, 0.5, 0.5]]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert got.dtype == np.float32
    assert box_geometry(np.zeros((0, 4)), 10, 10).shape == (0, 5)
    with pytest.raises(ValueError, match="positive image size"):
        box_geometry([[0, 0, 1, 1]], 0, 10)
    with pytest.raises(ValueError, match=r"\(R, 4\)"):
        box_geometry([[0, 0, 1]], 10, 10)


def test_image_size_reads_upright_size(tmp_path):
    Image.new("RGB", (30, 20)).save(tmp_path / "plain.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: the upright image is 20 wide, 30 high
    Image.new("RGB", (30, 20)).save(tmp_path / "rot.jpg", exif=exif)
    size = image_size_reader(tmp_path)
    assert size("plain.png") == (30, 20)
    assert size("rot.jpg") == (20, 30)
    with pytest.raises(ImageLoadError):
        size("../outside.png")


def test_with_geometry_rows_in_rows_out():
    rows = make_size_rows("vqa", 3, seed=0)
    rows[1] = {**rows[1], "error": "regions:corrupt"}
    out = with_geometry(rows, lambda p: (SIZE_IMAGE, SIZE_IMAGE))
    assert len(out) == 3 and [r["uid"] for r in out] == [r["uid"] for r in rows]
    assert out[1]["region_geom"].shape == (0, 5)
    np.testing.assert_allclose(out[0]["region_geom"],
                               box_geometry(rows[0]["boxes"], SIZE_IMAGE, SIZE_IMAGE))
    assert "region_geom" not in rows[0]  # inputs untouched
    bad = {**rows[0], "boxes": rows[0]["boxes"][:2]}
    with pytest.raises(ValueError, match="2 boxes for 4 region embeddings"):
        with_geometry([bad], lambda p: (10, 10))


def test_collate_pads_region_geom():
    rows = with_geometry(make_size_rows("vqa", 2, seed=1), lambda p: (SIZE_IMAGE, SIZE_IMAGE))
    rows[1] = {**rows[1], "region_embs": rows[1]["region_embs"][:2],
               "tag_embs": rows[1]["tag_embs"][:2], "region_geom": rows[1]["region_geom"][:2]}
    b = collate(rows)
    assert b.region_geom.shape == (2, 4, 5)
    assert torch.equal(b.region_geom[1, 2:], torch.zeros(2, 5))
    np.testing.assert_allclose(b.region_geom[1, :2].numpy(), rows[1]["region_geom"])
    assert collate(make_size_rows("vqa", 1, seed=1)).region_geom is None
    with pytest.raises(ValueError, match="region_geom of shape"):
        collate([{**rows[0], "region_geom": np.zeros((3, 5), np.float32)}])


def test_box_adapter_starts_as_zero_shot_and_moves_only_image_regions():
    cfg = build_config({"adapt": {"box_features": True}})
    assert build_config({}).adapt.box_features is False  # off by default
    rows = with_geometry(make_size_rows("vcr", 4, seed=2), lambda p: (SIZE_IMAGE, SIZE_IMAGE))
    batch = collate(rows)
    torch.manual_seed(0)
    boxed = AdaptedScorer(16, cfg.adapt, cfg.align)
    plain = AdaptedScorer(16, build_config({}).adapt, cfg.align)
    assert plain.box_adapter is None and boxed.box_adapter is not None
    assert torch.allclose(boxed(batch)[0], plain(batch)[0], atol=1e-6)
    with torch.no_grad():
        boxed.box_adapter.up.weight.normal_()
    moved = boxed.adapt_batch(batch)
    assert not torch.allclose(moved.regions, batch.regions)
    assert torch.equal(moved.regions[~batch.region_mask], batch.regions[~batch.region_mask])
    assert torch.allclose(moved.regions.norm(dim=-1)[batch.region_mask], torch.tensor(1.0))
    assert torch.allclose(moved.image, batch.image, atol=1e-6)  # the global image: left alone
    text = boxed.adapt_batch(batch, text_premise=True)  # phrases have no boxes
    assert torch.allclose(text.regions, batch.regions, atol=1e-6)
    with pytest.raises(ValueError, match="no region_geom"):
        boxed.adapt_batch(collate(make_size_rows("vcr", 2, seed=2)))


@pytest.fixture(scope="module")
def size_world():
    out = {}
    for j, t in enumerate(TASKS):
        for k, (s, n) in enumerate(SIZES.items()):
            out[(t, s)] = make_size_rows(t, n if t != "snli_ve" else n // 3, seed=10 * j + k)
    out[("snli_ve", TRAIN_TEXT)] = [{**r, "boxes": None} for r in out[("snli_ve", "train")]]
    return out


def _store(world, cfg, target, reads=None):
    def loader(task, split):
        if reads is not None:
            reads.append((task, split))
        return world[(task, split)]

    return TaskStore(loader, cfg.align, forbidden=[target],
                     image_size=lambda p: (SIZE_IMAGE, SIZE_IMAGE))


def _cfg(box: bool):
    return build_config({"adapt": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "rank": 0,
                                   "bootstrap": 200, "box_features": box}})


def test_box_features_transfer_size_to_held_out_task(size_world):
    # only a region's size separates the candidates; the crops' embeddings do not hold it
    res = {box: leave_one_out(_cfg(box), "vcr", _store(size_world, _cfg(box), "vcr"))[0]
           for box in (False, True)}
    assert res[True]["zero_shot"] == res[False]["zero_shot"] < 65  # chance is 50
    assert res[False]["adapted"] < res[False]["zero_shot"] + 5
    assert res[True]["delta"]["ci95"][0] > 20, res[True]["delta"]
    assert res[True]["source_val"] > res[False]["source_val"]  # what the protocol chooses by


def test_box_features_score_the_snli_ve_target_text_rows_boxless(size_world):
    # the SNLI-VE target trains its classifier on text-only rows (no boxes) and scores images
    cfg = _cfg(True)
    cfg = cfg.model_copy(update={"adapt": cfg.adapt.model_copy(update={"epochs": 1})})
    store = _store(size_world, cfg, "snli_ve")
    res, _ = leave_one_out(cfg, "snli_ve", store)
    assert res["n"] == len(size_world[("snli_ve", "test")])
    assert "region_geom" not in store.rows("snli_ve", TRAIN_TEXT)[0]
    assert store.rows("snli_ve", "test")[0]["region_geom"].shape == (4, 5)


def test_store_without_image_size_cannot_feed_box_features(size_world):
    cfg = _cfg(True)
    plain = TaskStore(lambda t, s: size_world[(t, s)], cfg.align, forbidden=["vcr"])
    with pytest.raises(ValueError, match="no region_geom"):
        leave_one_out(cfg, "vcr", plain)
