"""Scoring math with hand-computed values (D = 2 unit vectors, τ = 1 unless stated)."""
import math

import numpy as np
import pytest
import torch

from fgalign.align import (
    collate,
    fuse,
    global_score,
    keyword_idf,
    region_sentence_score,
    region_word_score,
    score_components,
    tag_text_score,
)

E1, E2, V = [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]  # unit vectors; cos(E1, V) = 0.6, cos(E2, V) = 0.8


def _soft(a: list[float]) -> float:
    """Σ softmax(a)·a (τ = 1), written out by hand."""
    z = sum(math.exp(x) for x in a)
    return sum(x * math.exp(x) / z for x in a)


def _row(regions, stmts, kws, kw_mask=None, tags=None, image=V, **extra):
    kws = np.asarray(kws, np.float32)
    row = {"image_emb": np.asarray(image, np.float32),
           "region_embs": np.asarray(regions, np.float32).reshape(-1, 2),
           "tag_embs": np.asarray(tags if tags is not None else regions, np.float32).reshape(-1, 2),
           "stmt_embs": np.asarray(stmts, np.float32), "kw_embs": kws,
           "kw_mask": np.ones(kws.shape[:2], bool) if kw_mask is None else np.asarray(kw_mask)}
    row.update(extra)
    return row


def test_global_is_cosine_with_image():
    b = collate([_row([E1], [E1, E2, V], [[E1], [E1], [E1]], image=V)])
    assert torch.allclose(global_score(b), torch.tensor([[0.6, 0.8, 1.0]]))


def test_region_word_exact_value():
    # one candidate, keywords E1 and V over regions E1, E2
    b = collate([_row([E1, E2], [V], [[E1, V]])])
    expected = (_soft([1.0, 0.0]) + _soft([0.6, 0.8])) / 2
    assert region_word_score(b, tau=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_region_word_temperature_sharpens_to_max():
    b = collate([_row([E1, E2], [V], [[V]])])
    assert region_word_score(b, tau=1e-3).item() == pytest.approx(0.8, abs=1e-6)


def test_padding_regions_keywords_candidates_do_not_change_scores():
    alone = collate([_row([E1, E2], [V, E1], [[E1, V], [E2, E2]], kw_mask=[[1, 1], [1, 0]])])
    # a second row with more regions, keywords and candidates forces padding of the first
    other = _row([E2, E1, V, V], [E1, E2, V], [[E1, E2, V]] * 3)
    both = collate([_row([E1, E2], [V, E1], [[E1, V], [E2, E2]], kw_mask=[[1, 1], [1, 0]]),
                    other])
    for fn in (global_score, region_word_score, region_sentence_score, tag_text_score):
        a = fn(alone, tau=1.0) if fn is not global_score else fn(alone)
        ab = fn(both, tau=1.0) if fn is not global_score else fn(both)
        assert torch.allclose(a[0], ab[0, :2], atol=1e-6), fn.__name__
        assert ab[0, 2].item() == 0.0  # padded candidate scores 0 in every component
    # the masked keyword (E2 of candidate 1, second slot) is ignored: score = E2 alone
    assert region_word_score(alone, tau=1.0)[0, 1].item() == pytest.approx(_soft([0.0, 1.0]))


def test_masked_region_with_strong_similarity_is_ignored():
    rows = [_row([E1, E2], [V], [[V]])]
    b = collate(rows)
    b.regions = torch.cat([b.regions, torch.tensor([[[0.6, 0.8]]])], 1)  # perfect match…
    b.tags = torch.cat([b.tags, torch.tensor([[[0.6, 0.8]]])], 1)
    b.region_mask = torch.cat([b.region_mask, torch.tensor([[False]])], 1)  # …but padding
    assert region_word_score(b, tau=1.0).item() == pytest.approx(_soft([0.6, 0.8]))
    assert region_sentence_score(b, tau=1.0).item() == pytest.approx(_soft([0.6, 0.8]))


def test_region_sentence_and_tag_text_exact():
    b = collate([_row([E1, E2], [V, E1], [[V], [V]], tags=[E2, E2])])
    rs = region_sentence_score(b, tau=1.0)[0]
    assert rs[0].item() == pytest.approx(_soft([0.6, 0.8]))
    assert rs[1].item() == pytest.approx(_soft([1.0, 0.0]))
    tt = tag_text_score(b, tau=1.0)[0]
    assert tt[0].item() == pytest.approx(0.8) and tt[1].item() == pytest.approx(0.0, abs=1e-7)


def test_no_regions_falls_back_to_global_in_every_region_component():
    # missing evidence is not evidence: cos(image, statement), not 0 (issue 19 kind 2)
    b = collate([_row(np.zeros((0, 2)), [V, E1], [[V], [E1]])])
    for fn in (region_word_score, region_sentence_score, tag_text_score):
        assert torch.allclose(fn(b, tau=1.0), global_score(b)), fn.__name__
    assert torch.allclose(global_score(b), torch.tensor([[1.0, 0.6]]))


def test_keyword_region_reference_restricts_attention():
    # keyword V may only look at region 1 (E2): score = cos(V, E2) = 0.8 exactly
    ref = np.array([[[False, True]]])  # (C, K, R)
    b = collate([_row([E1, E2], [V], [[V]], kw_region_mask=ref)])
    assert region_word_score(b, tau=1.0).item() == pytest.approx(0.8)
    # a reference to no valid region falls back to all regions
    b = collate([_row([E1, E2], [V], [[V]], kw_region_mask=np.zeros((1, 1, 2), bool))])
    assert region_word_score(b, tau=1.0).item() == pytest.approx(_soft([0.6, 0.8]))


def test_keyword_weights_make_a_weighted_mean():
    w = np.array([[3.0, 1.0]], np.float32)
    b = collate([_row([E1, E2], [V], [[E1, V]], kw_weight=w)])
    expected = (3 * _soft([1.0, 0.0]) + _soft([0.6, 0.8])) / 4
    assert region_word_score(b, tau=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_keyword_idf_within_instance():
    w = keyword_idf([["red", "triangle"], ["blue", "triangle"]])
    assert w == pytest.approx(np.array([[1 + math.log(1.5), 1.0], [1 + math.log(1.5), 1.0]]))


def test_fuse_weights_switches_and_masking():
    g = torch.tensor([[0.5, 0.2, 0.0]])
    rw = torch.tensor([[0.1, 0.4, 0.0]])
    rs = torch.tensor([[1.0, 1.0, 0.0]])
    mask = torch.tensor([[True, True, False]])
    out = fuse({"global": g, "region_word": rw, "region_sentence": rs},
               {"region_word": 2.0, "region_sentence": 0.0}, mask)
    assert torch.allclose(out[0, :2], torch.tensor([0.7, 1.0]))
    assert out[0, 2].item() == float("-inf")
    assert torch.equal(fuse({"global": g}, {"region_word": 5.0}), g)  # absent component: off
    with pytest.raises(KeyError):
        fuse({"region_word": rw}, {})


def test_score_components_by_name_and_bad_tau():
    b = collate([_row([E1, E2], [V], [[V]])])
    comps = score_components(b, ["region_word", "tag_text"], tau=1.0)
    assert set(comps) == {"global", "region_word", "tag_text"}
    with pytest.raises(ValueError, match="temperature"):
        region_word_score(b, tau=0.0)
    with pytest.raises(KeyError, match="known"):
        score_components(b, ["nope"], tau=1.0)


def test_keyword_weights_length_and_product():
    from fgalign.align import keyword_weights

    kws = [["red circle", "red"], ["blue circle"]]
    assert keyword_weights(kws, "length").tolist() == [[2.0, 1.0], [2.0, 0.0]]
    idf = keyword_idf(kws)
    assert keyword_weights(kws, "idf_length") == pytest.approx(idf * [[2.0, 1.0], [2.0, 0.0]])
    with pytest.raises(ValueError, match="known"):
        keyword_weights(kws, "nope")
