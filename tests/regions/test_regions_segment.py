"""The weights-free ``segment`` proposer on hand-drawn images and on the synthetic world."""
import numpy as np
import pytest

from fgalign.regions import box_iou, create_proposer
from fgalign.regions.segment import background_color

BG = (230, 228, 220)


def canvas(h=64, w=64, color=BG):
    return np.full((h, w, 3), color, np.uint8)


def test_touching_shapes_of_different_colours_split_into_two_boxes():
    img = canvas()
    img[10:30, 10:30] = (220, 30, 30)  # red square
    img[10:30, 30:50] = (35, 70, 225)  # blue square touching it
    props = create_proposer("segment")(img)
    np.testing.assert_array_equal(props.boxes, [[10, 10, 30, 30], [30, 10, 50, 30]])
    np.testing.assert_allclose(props.scores, [400 / 4096, 400 / 4096])
    assert props.labels == ["", ""]


def test_darker_outline_of_same_hue_stays_one_object():
    img = canvas()
    img[20:40, 8:40] = (154, 21, 21)  # the renderer's 0.7x outline colour
    img[21:39, 9:39] = (220, 30, 30)
    props = create_proposer("segment")(img)
    np.testing.assert_array_equal(props.boxes, [[8, 20, 40, 40]])


def test_textured_background_and_gray_object():
    rng = np.random.default_rng(0)
    img = np.clip(np.array(BG) + rng.uniform(-7, 7, (64, 64, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:64, :64]
    disk = (yy - 40) ** 2 + (xx - 20) ** 2 <= 8 ** 2
    img[disk] = (115, 115, 115)
    img[5:15, 45:60] = (0, 200, 210)  # cyan bar
    props = create_proposer("segment")(img)
    ys, xs = np.nonzero(disk)
    expected = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], [45, 5, 60, 15]]
    np.testing.assert_array_equal(props.boxes, expected)  # disk (201 px) before bar (150 px)
    np.testing.assert_allclose(props.scores, [disk.sum() / 4096, 150 / 4096])


def test_larger_blob_first():
    img = canvas()
    img[40:60, 5:35] = (30, 160, 50)  # 600 px
    img[5:10, 50:60] = (240, 205, 0)  # 50 px
    props = create_proposer("segment")(img)
    np.testing.assert_array_equal(props.boxes, [[5, 40, 35, 60], [50, 5, 60, 10]])


@pytest.mark.parametrize("img", [canvas(), canvas(color=(0, 0, 0))])
def test_empty_image_has_no_proposals(img):
    props = create_proposer("segment")(img)
    assert props.boxes.shape == (0, 4) and props.scores.shape == (0,) and props.labels == []


def test_specks_below_min_area_are_dropped():
    img = canvas()
    img[5:8, 5:8] = (220, 30, 30)  # 9 px < 0.003 * 4096
    assert len(create_proposer("segment")(img)) == 0
    assert len(create_proposer("segment", min_area=0.001)(img)) == 1


def test_background_colour_is_robust_to_an_object_on_the_border():
    img = canvas()
    img[:, :20] = (220, 30, 30)
    np.testing.assert_array_equal(background_color(img), BG)


def test_finds_synthetic_world_objects():
    """Ground-truth boxes are used here only to measure the proposer (recall at IoU 0.5)."""
    from fgalign.data.synth.render import render_scene, visible_fractions
    from fgalign.data.synth.scene import sample_scene

    proposer = create_proposer("segment", max_regions=8)
    hits = total = 0
    for i in range(20):
        rng = np.random.default_rng(100 + i)
        scene = sample_scene(rng, i, "x.png", 128, visible_fractions)
        props = proposer(np.asarray(render_scene(scene, rng)))
        gt = np.array([o["box"] for o in scene["objects"]])
        hits += int((box_iou(gt, props.boxes).max(axis=1) >= 0.5).sum()) if len(props) else 0
        total += len(gt)
    assert hits / total >= 0.95, f"recall@0.5 {hits}/{total}"


def test_max_side_searches_a_smaller_image_and_scales_boxes_back():
    img = canvas(256, 512)
    img[40:120, 80:200] = (220, 30, 30)  # red block
    img[140:220, 300:460] = (35, 70, 225)  # blue block
    full = create_proposer("segment")(img)
    small = create_proposer("segment", max_side=128)(img)  # searched at 64 x 128
    assert len(small) == len(full) == 2
    assert np.diag(box_iou(small.boxes, full.boxes)).min() > 0.9
    assert small.boxes[:, [0, 2]].max() <= 512 and small.boxes[:, [1, 3]].max() <= 256
