import math

import torch
import torch.nn.functional as F

from fgalign.adapt.losses import candidate_nce, in_batch_nce


def test_candidate_nce_one_hot_equals_cross_entropy():
    scores = torch.tensor([[0.2, 0.5, -0.1], [0.3, 0.1, 0.0]])
    mask = torch.ones(2, 3, dtype=torch.bool)
    target = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    got = candidate_nce(scores, mask, target, torch.tensor(10.0))
    want = F.cross_entropy(scores * 10, torch.tensor([1, 0]))
    assert torch.allclose(got, want)


def test_candidate_nce_ignores_padding_and_rows_without_answer():
    # row 0: 2 real candidates of 3; row 1: no correct candidate offered → skipped
    scores = torch.tensor([[1.0, 0.0, 50.0], [0.3, 0.2, 0.1]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    got = candidate_nce(scores, mask, target, torch.tensor(1.0))
    assert math.isclose(float(got), math.log(1 + math.exp(-1.0)), rel_tol=1e-6)


def test_candidate_nce_soft_target_is_normalised_credit():
    scores = torch.tensor([[0.0, 0.0]])
    target = torch.tensor([[1.0, 0.3]])
    got = candidate_nce(scores, torch.ones(1, 2, dtype=torch.bool), target, torch.tensor(1.0))
    assert math.isclose(float(got), math.log(2), rel_tol=1e-6)  # uniform logits: CE = ln 2


def test_candidate_nce_all_rows_unanswerable_is_zero_with_grad():
    scores = torch.zeros(2, 3, requires_grad=True)
    loss = candidate_nce(scores, torch.ones(2, 3, dtype=torch.bool), torch.zeros(2, 3),
                         torch.tensor(1.0))
    loss.backward()
    assert loss.item() == 0.0 and scores.grad is not None


def test_in_batch_nce_matches_clip_loss_without_duplicates():
    from open_clip.loss import ClipLoss

    g = torch.Generator().manual_seed(0)
    img = F.normalize(torch.randn(5, 8, generator=g), dim=-1)
    txt = F.normalize(torch.randn(5, 8, generator=g), dim=-1)
    got = in_batch_nce(img, txt, torch.ones(5, dtype=torch.bool), torch.tensor(7.0))
    assert torch.allclose(got, ClipLoss()(img, txt, torch.tensor(7.0)), atol=1e-6)


def test_in_batch_nce_masks_same_image_pairs():
    img = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    txt = F.normalize(torch.tensor([[1.0, 0.2], [0.9, -0.3], [0.1, 1.0]]), dim=-1)
    valid = torch.ones(3, dtype=torch.bool)
    got = in_batch_nce(img, txt, valid, torch.tensor(5.0))
    # by hand: rows 0 and 1 share the image, so neither is the other's negative
    logits = 5.0 * img @ txt.T
    logits[0, 1] = logits[1, 0] = -1e4
    want = 0.5 * (F.cross_entropy(logits, torch.arange(3)) +
                  F.cross_entropy(logits.T, torch.arange(3)))
    assert torch.allclose(got, want)
    # invalid rows take no part; fewer than two rows give 0
    assert float(in_batch_nce(img, txt, torch.tensor([True, False, False]),
                              torch.tensor(5.0))) == 0.0


def test_candidate_nce_gradient_is_finite_with_inf_padding():
    # fused scores carry -inf on padded candidates; the scale's gradient must stay finite
    scores = torch.tensor([[0.5, 0.1, float("-inf")]], requires_grad=True)
    scale = torch.tensor(10.0, requires_grad=True)
    mask = torch.tensor([[True, True, False]])
    candidate_nce(scores, mask, torch.tensor([[1.0, 0.0, 0.0]]), scale).backward()
    assert torch.isfinite(scale.grad) and torch.isfinite(scores.grad).all()
