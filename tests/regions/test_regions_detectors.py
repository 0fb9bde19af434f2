"""Detector adapters: torchvision with random weights (formats only), detectron2 without it."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from fgalign.regions import create_proposer
from fgalign.regions.detectors import (
    DETECTRON2_INSTALL,
    Detectron2Proposer,
    detections_to_proposals,
    instances_to_proposals,
)

COCO = ["__background__", "person", "bicycle", "car"]


def test_detections_map_class_ids_to_names():
    p = detections_to_proposals(torch.tensor([[1.0, 2, 3, 4], [5, 6, 7, 8]]),
                                torch.tensor([0.9, 0.4]), torch.tensor([3, 17]), COCO)
    assert p.labels == ["car", "class_17"]
    assert p.boxes.dtype == np.float32 and p.boxes.shape == (2, 4)


def test_placeholder_class_ids_are_dropped():
    """torchvision's COCO list has "N/A" / "__background__" placeholders: not detections."""
    from fgalign.regions.base import Proposals
    from fgalign.regions.detectors import drop_unnamed

    p = drop_unnamed(Proposals(np.arange(16, dtype=np.float32).reshape(4, 4),
                               [0.9, 0.8, 0.7, 0.6], ["N/A", "cat", "__background__", "cup"]))
    assert p.labels == ["cat", "cup"] and p.scores.tolist() == pytest.approx([0.8, 0.6])
    np.testing.assert_array_equal(p.boxes, [[4, 5, 6, 7], [12, 13, 14, 15]])
    assert len(drop_unnamed(Proposals.empty())) == 0


def fake_instances(boxes, scores, classes):
    inst = SimpleNamespace(pred_boxes=SimpleNamespace(tensor=torch.tensor(boxes)),
                           scores=torch.tensor(scores), pred_classes=torch.tensor(classes))
    inst.to = lambda device: inst
    return inst


def test_instances_to_proposals():
    p = instances_to_proposals(fake_instances([[0.0, 0, 10, 10]], [0.8], [1]), COCO)
    np.testing.assert_array_equal(p.boxes, [[0, 0, 10, 10]])
    assert p.labels == ["person"] and p.scores.tolist() == pytest.approx([0.8])


def test_detectron2_missing_names_the_install_command():
    try:
        import detectron2  # noqa: F401
        pytest.skip("detectron2 is installed here")
    except ImportError:
        pass
    with pytest.raises(ImportError) as e:
        create_proposer("detectron2")
    assert DETECTRON2_INSTALL in str(e.value)
    assert DETECTRON2_INSTALL == "pip install 'git+https://github.com/facebookresearch/detectron2.git'"


def test_detectron2_call_flips_to_bgr_and_post_processes():
    """The adapter's __call__ with a fake predictor: BGR input, labels, clip, NMS, max_regions."""
    seen = {}

    def predictor(img):
        seen["img"] = img
        return {"instances": fake_instances(
            [[-4.0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [40, 5, 50, 15]],
            [0.95, 0.9, 0.8, 0.1], [1, 1, 2, 3])}

    prop = object.__new__(Detectron2Proposer)  # skip __init__ (no detectron2 here)
    prop.predictor, prop.input_format, prop.class_names = predictor, "BGR", COCO
    prop.post = {"max_regions": 2, "min_score": 0.0, "nms_iou": 0.5}
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = 200  # red in RGB
    out = prop(img)
    assert seen["img"][0, 0].tolist() == [0, 0, 200]
    np.testing.assert_array_equal(out.boxes, [[0, 0, 10, 10], [20, 20, 30, 30]])
    assert out.labels == ["person", "bicycle"]


@pytest.mark.slow
def test_torchvision_random_weights_shapes_and_weights_path(tmp_path):
    torch.manual_seed(0)
    kw = {"min_size": 64, "max_size": 64, "score_thresh": 0.0, "max_regions": 3, "device": "cpu",
          "rpn_pre_nms_top_n_test": 100, "rpn_post_nms_top_n_test": 20,
          "box_detections_per_img": 10}
    prop = create_proposer("torchvision", weights=None, **kw)
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    out = prop(img)
    assert out.boxes.shape == (3, 4) and out.boxes.dtype == np.float32
    assert out.scores.shape == (3,) and (np.diff(out.scores) <= 0).all()
    assert all(lab in prop.class_names for lab in out.labels) and len(prop.class_names) == 91
    assert (out.boxes[:, 2:] <= [64, 48]).all() and (out.boxes[:, :2] >= 0).all()
    path = tmp_path / "frcnn.pt"
    torch.save(prop.model.state_dict(), path)
    again = create_proposer("torchvision", weights_path=str(path), **kw)(img)
    np.testing.assert_allclose(again.boxes, out.boxes, atol=1e-4)
    assert again.labels == out.labels
