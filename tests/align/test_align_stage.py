"""The score stage on hand-made embedded rows: references, groups, variants, tag filter."""
import numpy as np
import pytest

from fgalign.align.rows import reference_mask, scoring_row, statement_region_mask
from fgalign.align.stage import AlignmentScorer, variant_names
from fgalign.config import AlignCfg
from fgalign.engine.batch import rows_to_batch

E1, E2, V = [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]
ALIGN = {"tau": 1e-3, "components": ["region_word", "region_sentence"],
         "weights": {"region_word": 1.0, "region_sentence": 0.0}}


def _row(**kw):
    row = {"error": "", "image_emb": np.array(V, np.float32),
           "region_embs": np.array([E1, E2], np.float32), "tag_embs": np.array([E1, E2], np.float32),
           "stmt_embs": np.array([V, V], np.float32),
           "kw_embs": np.array([[V], [V]], np.float32), "kw_mask": np.ones((2, 1), bool),
           "cand_group": [0, 1], "labels": [0, 0]}
    row.update(kw)
    return row


def test_variants_follow_weights():
    assert variant_names(AlignCfg(**ALIGN)) == ["global", "global+region_word", "fusion"]


def test_reference_masks():
    m = reference_mask([[[1], []]], (1, 2), 3)
    assert m.tolist() == [[[False, True, False], [False, False, False]]]
    assert statement_region_mask([[0], [5]], 2).tolist() == [[True, False], [False, False]]
    assert statement_region_mask([[], []], 2) is None
    # statement scope: the plain keyword inherits its statement's region
    row = scoring_row({"region_embs": np.zeros((2, 2)), "kw_mask": np.ones((1, 2), bool),
                       "kw_refs": [[[0], []]], "statement_refs": [[1]]},
                      AlignCfg(ref_scope="statement"))
    assert row["kw_region_mask"].tolist() == [[[True, False], [False, True]]]
    row = scoring_row(dict(row, kw_region_mask=None), AlignCfg(ref_scope="keyword"))
    assert row["kw_region_mask"].tolist() == [[[True, False], [False, False]]]


def test_kw_refs_restrict_attention_per_group():
    # keyword V over regions E1 (0.6) / E2 (0.8): free attention picks 0.8; a reference to
    # region 0 forces 0.6. Candidate 0 (group 0) is free, candidate 1 (group 1) refers to 0.
    row = _row(kw_refs=[[[]], [[0]]])
    out = AlignmentScorer("vcr", ALIGN)(rows_to_batch([row]))
    rw = out["scores_region_word"][0]
    assert rw[0] == pytest.approx(0.8, abs=1e-4) and rw[1] == pytest.approx(0.6, abs=1e-4)
    assert out["vscore_fusion"][0] == pytest.approx([1.8, 1.6], abs=1e-4)  # global 1 + λ·rw
    assert out["pred"][0] == 0 and out["pred_r"][0] == 0


def test_error_rows_and_vqa_tag_filter():
    vqa = _row(cand_group=[0, 0], candidates=["red", "blue"], answer_type_inferred="other",
               region_tags=["blue circle", "green star"],
               stmt_embs=np.array([V, E1], np.float32))
    bad = {"error": "embed:missing", "image_emb": np.zeros(0), "stmt_embs": np.zeros((0, 2))}
    out = AlignmentScorer("vqa", ALIGN, tag_filter=True)(rows_to_batch([vqa, bad]))
    assert out["vscore_fusion"][0][0] == -np.inf and out["pred"][0] == 1  # "red": no tag
    assert out["vscore_global"][0][0] == -np.inf  # the filter applies to every variant…
    assert np.isfinite(out["scores_global"][0][0])  # …but component scores are kept
    assert out["pred"][1] == -1 and len(out["scores_global"][1]) == 0
    assert list(out["error"]) == ["", "embed:missing"]
