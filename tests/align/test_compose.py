"""Compositional evidence (fgalign.align.compose) on hand-made boxes, tags and attentions:
exact values, and missing evidence masked (the component is the global score, not 0)."""
import numpy as np
import pytest

from fgalign.align.claims import Claim
from fgalign.align.compose import (
    KINDS,
    ComposeParams,
    RowGeometry,
    claim_evidence,
    compose_row,
    refs_as_brackets,
)
from fgalign.align.rows import score_rows
from fgalign.align.scores import COMPOSE_KINDS
from fgalign.config import AlignCfg

P = ComposeParams()
# a 100×100 scene: a large red circle top-left, a small blue star bottom-right, a small red square
BOXES = np.array([[0, 0, 40, 40], [80, 80, 100, 100], [60, 10, 70, 20]], np.float32)
TAGS = ["red circle", "blue star", "red square"]
GEO = RowGeometry(BOXES, TAGS, 3)


def test_geometry():
    assert (GEO.W, GEO.H) == (100.0, 100.0)
    assert GEO.centre[0] == pytest.approx([0.2, 0.2]) and GEO.area[0] == pytest.approx(0.16)


def test_relation_exact():
    d = claim_evidence(Claim("relation", ("red circle", "blue star"), "left"), GEO, [], None, P)
    assert d == pytest.approx(np.tanh((0.9 - 0.2) / P.relation_scale))
    d = claim_evidence(Claim("relation", ("red circle", "blue star"), "below"), GEO, [], None, P)
    assert d == pytest.approx(np.tanh((0.2 - 0.9) / P.relation_scale))
    neg = claim_evidence(Claim("relation", ("red circle", "blue star"), "left", True), GEO, [],
                         None, P)
    assert neg == pytest.approx(-np.tanh(0.7 / P.relation_scale))


def test_size_exact():
    d = claim_evidence(Claim("size", ("star",), "small"), GEO, [], None, P)
    assert d == pytest.approx(-np.tanh(np.log(0.04 / P.size_area) / P.size_scale))
    d = claim_evidence(Claim("size", ("circle", "star"), "larger"), GEO, [], None, P)
    assert d == pytest.approx(np.tanh(np.log(0.16 / 0.04) / P.size_scale))


def test_count_exact():
    ev = lambda *a: claim_evidence(Claim("count", *a), GEO, [], None, P)
    assert ev(("red objects",), ("eq", 2)) == 1.0
    assert ev(("red objects",), ("eq", 3)) == -1.0
    assert ev(("green square",), ("eq", 0)) == 1.0
    assert ev(("objects",), ("eq", 3)) == 1.0
    assert ev(("large objects",), ("eq", 1)) == 1.0  # sizes from the boxes, not the tags
    assert ev(("red objects", "blue objects"), ("gt", None)) == pytest.approx(np.tanh(1))
    # a duplicate proposal of the circle (IoU > 0.5) is counted once
    geo = RowGeometry(np.vstack([BOXES, [[1, 1, 40, 40]]]), TAGS + ["red circle"], 4)
    assert claim_evidence(Claim("count", ("red circles",), ("eq", 1)), geo, [], None, P) == 1.0


def test_attention_picks_among_tag_matches():
    # two red regions: the keyword "red" attends to region 2 most
    alpha = np.array([[0.1, 0.0, 0.9]])
    d = claim_evidence(Claim("relation", ("red", "blue star"), "above"), GEO, ["red"], alpha, P)
    assert d == pytest.approx(np.tanh((0.9 - 0.15) / P.relation_scale))


def test_no_evidence_is_none():
    none = lambda c, geo=GEO: claim_evidence(c, geo, [], None, P)
    assert none(Claim("relation", ("green hexagon", "blue star"), "left")) is None  # no match
    assert none(Claim("relation", ("red circle", "red circle"), "left")) is None  # one region
    assert none(Claim("size", ("[7]",), "small")) is None  # a ref beyond the regions
    assert none(Claim("count", ("red circle",), ("eq", 1)), RowGeometry(BOXES, [], 3)) is None
    # colour words with class-name tags (VCR): the tags cannot decide
    assert none(Claim("count", ("red circle",), ("eq", 1)),
                RowGeometry(BOXES, ["circle", "star", "square"], 3)) is None
    assert none(Claim("size", ("star",), "small"), RowGeometry(np.zeros((0, 4)), [], 0)) is None


def test_refs_rewritten_and_row_masks():
    names = ["cross", "cross", "square"]
    assert refs_as_brackets("Cross 1 is small and the square is large.", [0, 2], names) == \
        "[0] is small and [2] is large."
    delta, has = compose_row(["Cross 1 is left of the square.", "It is a circle."], None,
                             np.array([[0, 0, 10, 10], [50, 50, 60, 60], [80, 0, 100, 20]]),
                             names, 3, None, [[0, 2], []], "rule", P)
    assert has.tolist() == [[False, False, True], [False, False, False]]
    assert delta[0, 2] == pytest.approx(np.tanh((0.9 - 0.05) / P.relation_scale))
    assert delta[1].tolist() == [0.0, 0.0, 0.0]
    assert KINDS == COMPOSE_KINDS


def _row(statements, boxes):
    e = np.eye(4, dtype=np.float32)
    n = len(statements)
    return {"error": "", "image_emb": e[0], "region_embs": e[:3], "tag_embs": e[:3],
            "stmt_embs": np.stack([e[0] * 0.5 + e[1] * 0.5] * n), "statements": statements,
            "keywords": [["red circle"]] * n, "kw_embs": np.stack([e[:1]] * n),
            "kw_mask": np.ones((n, 1), bool), "boxes": boxes, "region_tags": TAGS,
            "cand_group": [0] * n, "labels": [0]}


def test_masked_candidates_score_global_and_are_counted():
    cfg = AlignCfg(tau=0.1, components=["region_word", "relation"],
                   weights={"region_word": 1.0, "relation": 0.5}, claim_parser="rule")
    row = _row(["the red circle is left of the blue star",
                "the red circle is right of the blue star", "a red circle"], BOXES)
    out, = score_rows([row], cfg)
    g, rel = out["scores_global"], out["scores_relation"]
    d = np.tanh(0.7 / P.relation_scale)
    assert rel == pytest.approx([g[0] + d, g[1] - d, g[2]])  # no claim: global, not 0
    assert out["no_relation"] == 1 and out["no_count"] == 3
    assert out["vscore_global+relation"] == pytest.approx(g + 0.5 * rel)
    no_boxes, = score_rows([_row(["the red circle is left of the blue star"], None)], cfg)
    assert no_boxes["scores_relation"] == pytest.approx(no_boxes["scores_global"])
    assert no_boxes["no_relation"] == 1


def test_params_are_checked():
    with pytest.raises(ValueError, match="relation_scale"):
        ComposeParams(relation_scale=0)
    with pytest.raises(ValueError, match="unknown compose parameter"):
        AlignCfg(compose={"scale": 1.0})


def test_keyword_alpha_matches_attend():
    import torch

    from fgalign.align.compose import keyword_alpha
    from fgalign.align.scores import attend

    rng = np.random.default_rng(0)
    kw, reg = rng.normal(size=(2, 3, 4)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    mask = np.array([[True, True, False], [True, False, False]])
    ref = np.zeros((2, 3, 5), bool)
    ref[0, 1, [1, 3]] = True
    got = keyword_alpha(kw, mask, reg, ref, 0.5)
    want_mask = torch.from_numpy(np.where(ref.any(-1, keepdims=True), ref, True) & mask[..., None])
    _, want = attend(torch.einsum("ckd,rd->ckr", torch.from_numpy(kw), torch.from_numpy(reg)),
                     want_mask, 0.5)
    assert got == pytest.approx(want.numpy(), abs=1e-6)
    assert got[0, 1, [0, 2, 4]].tolist() == [0.0, 0.0, 0.0] and got[1, 1].sum() == 0.0
