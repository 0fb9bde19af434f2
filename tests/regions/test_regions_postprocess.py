"""Shared post-processing (clip, degenerate, min_score, NMS, max_regions, order) and the registry."""
import numpy as np
import pytest

from fgalign.regions import Proposals, box_iou, create_proposer, list_proposers, postprocess


def props(boxes, scores, labels=None):
    return Proposals(np.array(boxes, np.float32), np.array(scores, np.float32), labels or [])


def test_clip_and_drop_degenerate_and_low_score():
    p = props([[-5, -5, 10, 10], [20, 20, 20.5, 30], [0, 0, 5, 5], [30, 10, 90, 40]],
              [0.9, 0.8, 0.1, 0.7], ["a", "b", "c", "d"])
    out = postprocess(p, (32, 48), min_score=0.2, nms_iou=None, max_regions=None)
    np.testing.assert_array_equal(out.boxes, [[0, 0, 10, 10], [30, 10, 48, 32]])
    np.testing.assert_allclose(out.scores, [0.9, 0.7])
    assert out.labels == ["a", "d"]


def test_boxes_entirely_outside_are_dropped():
    out = postprocess(props([[70, 70, 90, 90]], [1.0]), (64, 64))
    assert len(out) == 0 and out.boxes.shape == (0, 4)


def test_nms_suppresses_the_lower_scoring_overlap():
    p = props([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], [0.5, 0.9, 0.7])
    out = postprocess(p, (64, 64), nms_iou=0.5, max_regions=None)
    np.testing.assert_array_equal(out.boxes, [[1, 0, 11, 10], [20, 20, 30, 30]])
    kept_all = postprocess(p, (64, 64), nms_iou=None, max_regions=None)
    assert len(kept_all) == 3


def test_max_regions_keeps_the_best_and_order_is_deterministic_on_ties():
    boxes = [[10, 30, 20, 40], [30, 0, 40, 10], [0, 0, 10, 10], [50, 50, 60, 60]]
    p = props(boxes, [0.5, 0.5, 0.5, 0.9], ["a", "b", "c", "d"])
    out = postprocess(p, (64, 64), max_regions=3)
    assert out.labels == ["d", "c", "b"]  # score, then y1, then x1
    rev = props(boxes[::-1], [0.9, 0.5, 0.5, 0.5], ["d", "c", "b", "a"])
    assert postprocess(rev, (64, 64), max_regions=3).labels == ["d", "c", "b"]


def test_box_iou_exact():
    iou = box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[50 / 150, 1.0, 0.0]])


def test_proposals_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="disagree"):
        props([[0, 0, 1, 1]], [0.1, 0.2])


def test_registry_lists_all_proposers_and_names_them_on_unknown():
    assert list_proposers() == ["dataset", "detectron2", "segment", "selective_search",
                                "torchvision"]
    with pytest.raises(KeyError, match="known: dataset, detectron2, segment"):
        create_proposer("yolo")


def test_dataset_proposer_keeps_order_labels_and_scores():
    p = create_proposer("dataset")
    img = np.zeros((40, 50, 3), np.uint8)
    out = p(img, given_boxes=[[30, 5, 45, 20, 0.5], [-3, 0, 70, 39.5, 0.9], [60, 60, 80, 80, 1]],
            given_labels=["dog", "person", "cat"])
    np.testing.assert_array_equal(out.boxes, [[30, 5, 45, 20], [0, 0, 50, 39.5], [49, 39, 50, 40]])
    np.testing.assert_allclose(out.scores, [0.5, 0.9, 1.0])
    assert out.labels == ["dog", "person", "cat"]
    assert len(p(img, given_boxes=[])) == 0 and len(p(img)) == 0
    four = p(img, given_boxes=np.array([[1, 2, 3, 4]]))
    np.testing.assert_allclose(four.scores, [1.0]) and four.labels == [""]
    with pytest.raises(ValueError, match="labels"):
        p(img, given_boxes=[[1, 2, 3, 4]], given_labels=["a", "b"])


def test_selective_search_formats():
    img = np.full((64, 64, 3), 230, np.uint8)
    img[10:30, 10:30] = (220, 30, 30)
    img[35:60, 30:60] = (35, 70, 225)
    out = create_proposer("selective_search", max_regions=4)(img)
    assert 1 <= len(out) <= 4 and out.boxes.dtype == np.float32
    assert (out.boxes[:, :2] >= 0).all() and (out.boxes[:, 2:] <= 64).all()
    assert (np.diff(out.scores) <= 0).all()
    assert box_iou(out.boxes, out.boxes)[np.triu_indices(len(out), 1)].max(initial=0) <= 0.5
