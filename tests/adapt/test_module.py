import numpy as np
import torch

from fgalign.adapt import AdaptedScorer, ResidualAdapter, zero_shot_model
from fgalign.align import collate, fuse, score_components
from fgalign.config import AdaptCfg, AlignCfg
from fgalign.load import build_config
from fgalign.variants import Variant


def test_adapter_is_identity_at_init_and_keeps_padding_zero():
    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(3, 4, 8), dim=-1)
    x[1, 2] = 0.0  # padding
    out = ResidualAdapter(8, 4)(x)
    assert torch.allclose(out, x, atol=1e-6)
    assert out[1, 2].abs().sum().item() == 0.0


def _with_compose(rows, seed=0):
    """Rows with random count / size / relation evidence on some candidates."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        n = len(r["stmt_embs"])
        out.append({**r, "compose_delta": rng.uniform(-1, 1, (n, 3)).astype(np.float32),
                    "compose_mask": rng.random((n, 3)) < 0.5})
    return out


def test_zero_shot_model_equals_method_fusion(toy_rows):
    cfg = build_config({})
    assert {"count", "size", "relation"} <= set(Variant("fusion").components(cfg.align))
    batch = collate(_with_compose(toy_rows("vcr", 6, seed=0)))
    model = zero_shot_model(cfg, 16)
    assert model.components == Variant("fusion").components(cfg.align)
    with torch.no_grad():
        got, _ = model(batch)
    comps = score_components(batch, model.components, tau=cfg.align.tau)
    want = fuse(comps, cfg.align.weights, batch.cand_mask)
    assert torch.allclose(got, want, atol=1e-5)
    assert model.fusion_anchor().item() == 0.0  # λ starts at the config's


def test_compose_off_is_the_fusion_of_before_issue_20():
    cfg = build_config({})
    m = AdaptedScorer(16, AdaptCfg(compose=False), cfg.align)
    assert m.components == ["region_word", "region_sentence", "tag_text"]


def test_pairwise_term_starts_at_zero_and_learns(toy_rows):
    from dataclasses import replace

    cfg = build_config({})
    rows = _with_compose(toy_rows("vcr", 6, seed=3))
    rng = np.random.default_rng(0)
    for r in rows:  # a box per region: (cx, cy, w, h, area)
        wh = rng.uniform(0.1, 0.4, (len(r["region_embs"]), 2))
        r["region_geom"] = np.concatenate([rng.uniform(0.2, 0.8, wh.shape), wh,
                                           wh.prod(1, keepdims=True)], 1).astype(np.float32)
    batch = collate(rows)
    torch.manual_seed(0)
    plain = AdaptedScorer(16, AdaptCfg(rank=4), cfg.align)
    torch.manual_seed(0)
    pair = AdaptedScorer(16, AdaptCfg(rank=4, pairwise=True), cfg.align)
    with torch.no_grad():
        assert torch.equal(plain(batch)[0], pair(batch)[0])  # the zero-shot fusion at init
    assert pair.pairwise(batch, pair.tau).abs().max().item() == 0.0
    scores, _ = pair(batch)
    scores.masked_fill(~batch.cand_mask, 0).sum().backward()
    assert pair.pairwise.out.weight.grad.abs().sum() > 0
    with torch.no_grad():  # once trained it moves the score, and not without geometry
        pair.pairwise.out.weight.fill_(0.1)
        assert pair.pairwise(batch, pair.tau).abs().max().item() > 0
        assert pair.pairwise(replace(batch, region_geom=None), pair.tau).abs().max() == 0


def test_pair_geometry_of_two_boxes():
    from fgalign.adapt.geometry import box_geometry, pair_geometry

    g = torch.from_numpy(box_geometry([[0, 0, 10, 10], [20, 0, 40, 20]], 40, 40))[None]
    p = pair_geometry(g)[0]  # (2, 2, 4)
    dx, dy, lar, iou = p[0, 1].tolist()
    assert abs(dx - 0.625) < 1e-6 and abs(dy - 0.125) < 1e-6  # box 2 right of and below box 1
    assert lar < 0 and iou == 0.0  # box 1 is smaller; no overlap
    assert abs(p[0, 0, 3].item() - 1.0) < 1e-6  # a box with itself: IoU 1
    assert torch.allclose(p[1, 0, :3], -p[0, 1, :3], atol=1e-4)  # the reversed pair


def test_inits_follow_adapt_config_and_components_switch():
    align = AlignCfg(tau=0.05, weights={"region_word": 1.0, "region_sentence": 0.0})
    m = AdaptedScorer(16, AdaptCfg(temperature_init=0.1, fusion_init=0.3, rank=4), align)
    assert m.components == ["region_word"]
    assert abs(m.tau.item() - 0.1) < 1e-6 and abs(m.fusion[0].item() - 0.3) < 1e-6
    m0 = AdaptedScorer(16, AdaptCfg(rank=0), align, components=["tag_text"])
    assert m0.image_adapter is None and m0.components == ["tag_text"]


def test_gradients_reach_every_learnable_part(toy_rows):
    batch = collate(toy_rows("vqa", 4, seed=1))
    m = AdaptedScorer(16, AdaptCfg(rank=4), AlignCfg())
    scores, _ = m(batch)
    scores.masked_fill(~batch.cand_mask, 0).sum().backward()
    for name in ("fusion", "log_tau", "image_adapter.up.weight", "text_adapter.up.weight"):
        assert dict(m.named_parameters())[name].grad.abs().sum() > 0, name


def test_anchor_loss_is_zero_at_identity_and_ignores_padding(toy_rows):
    from dataclasses import replace

    from fgalign.adapt.train import anchor_loss

    batch = collate(toy_rows("vqa", 4, seed=2))
    m = AdaptedScorer(16, AdaptCfg(rank=4), AlignCfg())
    assert anchor_loss(batch, m.adapt_batch(batch)).item() < 1e-6  # identity at init
    # one real statement turned to its opposite costs 2 (1 − cos = 2) out of that part's mean
    flipped = batch.stmts.clone()
    i, c = torch.nonzero(batch.cand_mask)[0].tolist()
    flipped[i, c] = -flipped[i, c]
    got = anchor_loss(batch, replace(batch, stmts=flipped)).item()
    assert abs(got - 2.0 / batch.cand_mask.sum().item() / 4) < 1e-5
    # changes in padded slots cost nothing
    mask = batch.kw_mask.clone()
    mask[0, 0, 0] = False  # make one keyword slot padding
    padded = replace(batch, kw_mask=mask)
    kws = batch.kws.clone()
    kws[0, 0, 0] = -kws[0, 0, 0]
    assert anchor_loss(padded, replace(padded, kws=kws)).item() < 1e-6
    assert anchor_loss(batch, replace(batch, kws=kws)).item() > 1e-3  # counted when real


def test_compose_delta_only_starts_equal_and_moves_only_evidence_rows(toy_rows):
    cfg = build_config({})
    rows = _with_compose(toy_rows("vcr", 6, seed=4))
    rows[0]["compose_mask"][:] = False  # a row without any compositional evidence
    batch = collate(rows)
    a = AdaptedScorer(16, AdaptCfg(rank=0), cfg.align)
    b = AdaptedScorer(16, AdaptCfg(rank=0, compose_delta_only=True), cfg.align)
    with torch.no_grad():
        assert torch.allclose(a(batch)[0], b(batch)[0], atol=1e-6)
        before = b(batch)[0]
        b.fusion[b.components.index("count")] += 1.0
        after = b(batch)[0]
    assert torch.equal(before[0], after[0])  # no evidence: the score does not move
    assert not torch.equal(before, after)
