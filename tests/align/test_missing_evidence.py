"""Missing evidence is not evidence (issue 19 kind 2): a candidate without keywords, a row
without regions, falls back to the global score in that component, is flagged, is counted in
metrics.json, and the SNLI-VE classifier sees it masked; the same at every batch size."""
import numpy as np
import pytest

from fgalign.align.rows import score_rows
from fgalign.align.stage import AlignmentScorer
from fgalign.config import AlignCfg
from fgalign.engine.batch import rows_to_batch
from fgalign.experiment.finalize import finalize_task
from fgalign.load import build_config
from fgalign.tasks.snli_ve import feature_mask, missing_components, pair_features, standardize
from fgalign.variants import variant_names

E1, E2, V = [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]
ALIGN = {"tau": 1.0, "components": ["region_word", "region_sentence", "tag_text"],
         "weights": {"region_word": 2.0, "region_sentence": 1.0, "tag_text": 0.5}}


def _row(regions=(E1, E2), kw_mask=((True,), (True,)), stmts=(V, E1), groups=(0, 1)):
    regions = np.asarray(regions, np.float32).reshape(-1, 2)
    return {"error": "", "image_emb": np.array(V, np.float32), "region_embs": regions,
            "tag_embs": regions, "stmt_embs": np.asarray(stmts, np.float32),
            "kw_embs": np.array([[E2]] * len(stmts), np.float32),
            "kw_mask": np.asarray(kw_mask, bool), "cand_group": list(groups),
            "labels": [0, 0]}


ROWS = [_row(), _row(kw_mask=((False,), (True,))), _row(regions=np.zeros((0, 2))),
        _row(regions=np.zeros((0, 2)), kw_mask=((False,), (False,)))]


def test_fallback_is_the_global_score_not_zero():
    out = score_rows(ROWS, AlignCfg(**ALIGN))
    glob = [o["scores_global"] for o in out]
    assert glob[0] == pytest.approx([1.0, 0.6])
    # candidate 0 of row 1 has no keyword: region_word is its global score; candidate 1 is not
    assert out[1]["scores_region_word"][0] == pytest.approx(glob[1][0])
    assert out[1]["scores_region_word"][1] == pytest.approx(out[0]["scores_region_word"][1])
    assert out[1]["scores_region_sentence"] == pytest.approx(out[0]["scores_region_sentence"])
    for j in (2, 3):  # no region: every region-based component is the global score
        for c in ALIGN["components"]:
            assert out[j][f"scores_{c}"] == pytest.approx(glob[j]), (j, c)
        # so fusion ranks the row as global does
        assert out[j]["vscore_fusion"] == pytest.approx(4.5 * glob[j])  # 1 + 2 + 1 + 0.5
    assert [(o["no_regions"], o["no_keywords"]) for o in out] == [
        (False, 0), (False, 1), (True, 0), (True, 2)]


@pytest.mark.parametrize("task", ["vcr", "vqa"])
def test_stage_columns_same_at_batch_size_one_and_default(task):
    rows = ROWS if task == "vcr" else [dict(r, cand_group=[0, 0], labels=[0]) for r in ROWS]
    scorer = AlignmentScorer(task, ALIGN)
    whole = scorer(rows_to_batch(rows))
    single = [scorer(rows_to_batch([r])) for r in rows]
    assert whole["no_regions"].tolist() == [False, False, True, True]
    assert whole["no_keywords"].tolist() == [0, 1, 0, 2]
    for i, one in enumerate(single):
        assert one["no_regions"][0] == whole["no_regions"][i]
        assert one["no_keywords"][0] == whole["no_keywords"][i]
        for c in ["global"] + ALIGN["components"]:
            assert one[f"scores_{c}"][0] == pytest.approx(whole[f"scores_{c}"][i])
        assert one["pred"][0] == whole["pred"][i]


def test_error_rows_have_no_missing_evidence_flags():
    out = AlignmentScorer("vcr", ALIGN)(rows_to_batch([dict(ROWS[0], error="embed:x"), ROWS[3]]))
    assert out["no_regions"].tolist() == [False, True]
    assert out["no_keywords"].tolist() == [0, 2]


@pytest.mark.parametrize("kind", ["pair", "scores", "gated"])
def test_feature_mask_covers_exactly_the_features_of_a_missing_component(kind):
    rng = np.random.default_rng(0)
    p, h, comps = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    x = pair_features(p, h, comps, kind)
    bumped = comps.copy()
    bumped[0, 1] += 1.0  # row 0, component 1 changes
    changed = pair_features(p, h, bumped, kind) != x
    missing = np.array([[False, True], [False, False]])
    assert (feature_mask(missing, 3, kind) == changed).all()


def test_masked_component_cannot_move_the_classifier():
    comps = ["region_word", "region_sentence"]
    scored = [{"no_regions": True, "no_keywords": 0}, {"no_regions": False, "no_keywords": 1}]
    missing = missing_components(scored, comps)
    assert missing.tolist() == [[True, True], [True, False]]
    rng = np.random.default_rng(1)
    p, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    st = {"mu": [0.5] * 15, "sd": [2.0] * 15}
    mask = feature_mask(missing, 3, "gated")
    a = standardize(pair_features(p, h, np.zeros((2, 2)), "gated"), st, mask)
    b = standardize(pair_features(p, h, np.full((2, 2), 9.0), "gated"), st, mask)
    assert np.array_equal(a[0], b[0])  # row 0: no region, its components are no evidence
    assert not np.array_equal(a[1], b[1])  # row 1: region_sentence is real


def test_metrics_count_rows_without_regions_or_keywords():
    cfg = build_config({"adapt": {"bootstrap": 20}})
    s = {f"vscore_{v}": np.asarray([1.0, 0.0, 1.0, 0.0], np.float32)
         for v in variant_names(cfg.align)}
    row = {"target": 0, "rationale_label": 0, "cand_group": [0, 0, 1, 1], **s}
    rows = [dict(row, uid="a", error="", no_regions=True, no_keywords=3),
            dict(row, uid="b", error="", no_regions=False, no_keywords=1),
            dict(row, uid="c", error="", no_regions=False, no_keywords=0),
            dict(row, uid="d", error="embed:x", no_regions=False, no_keywords=0)]
    m = finalize_task(cfg, "vcr", {"prior": [1, 0], "prior_r": [1, 0]}, rows)["metrics"]
    assert m["no_regions"] == 1 and m["no_keywords"] == 2


def test_metrics_leave_the_counts_out_when_nothing_is_missing():
    cfg = build_config({"adapt": {"bootstrap": 20}})
    s = {f"vscore_{v}": np.asarray([1.0, 0.0, 1.0, 0.0], np.float32)
         for v in variant_names(cfg.align)}
    row = {"uid": "a", "error": "", "target": 0, "rationale_label": 0,
           "cand_group": [0, 0, 1, 1], "no_regions": False, "no_keywords": 0, **s}
    m = finalize_task(cfg, "vcr", {"prior": [1, 0], "prior_r": [1, 0]}, [row])["metrics"]
    assert "no_regions" not in m and "no_keywords" not in m
