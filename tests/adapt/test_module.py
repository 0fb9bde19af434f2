import torch

from fgalign.adapt import AdaptedScorer, ResidualAdapter, zero_shot_model
from fgalign.align import collate, fuse, score_components
from fgalign.config import AdaptCfg, AlignCfg
from fgalign.load import build_config


def test_adapter_is_identity_at_init_and_keeps_padding_zero():
    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(3, 4, 8), dim=-1)
    x[1, 2] = 0.0  # padding
    out = ResidualAdapter(8, 4)(x)
    assert torch.allclose(out, x, atol=1e-6)
    assert out[1, 2].abs().sum().item() == 0.0


def test_zero_shot_model_equals_method_fusion(toy_rows):
    cfg = build_config({})
    batch = collate(toy_rows("vcr", 6, seed=0))
    model = zero_shot_model(cfg, 16)
    with torch.no_grad():
        got, _ = model(batch)
    comps = score_components(batch, ["region_word", "region_sentence", "tag_text"],
                             tau=cfg.align.tau)
    want = fuse(comps, cfg.align.weights, batch.cand_mask)
    assert torch.allclose(got, want, atol=1e-5)


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
