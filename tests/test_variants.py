"""One variant vocabulary: ablation cells and metrics.json variants of one name are one score."""
import numpy as np
import pytest
import torch
from toy_world import make_rows

from fgalign.ablate import load_ablation_spec, variant_scorer
from fgalign.align import collate
from fgalign.align.rows import scoring_row
from fgalign.align.scores import COMPONENTS
from fgalign.align.stage import AlignmentScorer
from fgalign.config import ConfigError, to_dict
from fgalign.engine.batch import rows_to_batch
from fgalign.load import build_config
from fgalign.variants import (
    ALL_VARIANTS,
    FINE,
    Variant,
    VariantError,
    variant_names,
    variants_of,
)

# align sections: defaults, a λ = 0, a computed component missing from weights, and a weight
# (λ = 0) for a component that is not computed: the two lists differ in every allowed way
ALIGNS = {
    "default": {},
    "lambda0": {"weights": {"region_word": 2.0, "region_sentence": 0.0, "tag_text": 0.5}},
    "lists_differ": {"components": ["tag_text", "region_word"],
                     "weights": {"region_word": 1.5, "region_sentence": 0.0}},
}


def test_fine_components_are_the_registered_scorers():
    assert set(COMPONENTS.list()) == {"global", *FINE}


def test_parse_and_names_round_trip():
    for name in ALL_VARIANTS:
        assert Variant.parse(name).name == name
    assert [Variant.parse(n).order for n in ALL_VARIANTS] == list(range(len(ALL_VARIANTS)))
    for bad in ("global+", "global+region_wrod", "fusoin", "region_word", ""):
        with pytest.raises(VariantError, match="unknown variant"):
            Variant.parse(bad)


def test_weights_by_hand():
    a = build_config({"align": ALIGNS["lists_differ"]}).align
    # tag_text is computed but has no λ (off); region_sentence is not computed (λ 0 allowed)
    assert variant_names(a) == ["global", "global+region_word", "fusion"]
    assert Variant.parse("global").weights(a) == {}
    assert Variant.parse("global+region_word").weights(a) == {"region_word": 1.5}
    assert Variant.parse("fusion").weights(a) == {"region_word": 1.5}
    assert Variant.parse("adapted").weights(a) == {"region_word": 1.5}  # its zero-shot start
    with pytest.raises(VariantError, match="align.weights.tag_text is 0"):
        Variant.parse("global+tag_text").weights(a)
    with pytest.raises(VariantError, match="'region_sentence' is not in align.components"):
        Variant.parse("global+region_sentence").weights(a)
    d = build_config({}).align
    assert Variant.parse("fusion").weights(d) == {"region_word": 2.0, "region_sentence": 1.0,
                                                  "tag_text": 0.5, "count": 0.3, "size": 0.3,
                                                  "relation": 0.3}
    assert [v.name for v in variants_of(d)] == ["global", "global+region_word",
                                                "global+region_sentence", "global+tag_text",
                                                "global+count", "global+size",
                                                "global+relation", "fusion"]


@pytest.mark.parametrize("case", sorted(ALIGNS))
def test_ablation_cell_scores_equal_metrics_variant_columns(case):
    """Every metrics variant: the ablation cell's scorer gives the score stage's column."""
    cfg = build_config({"align": ALIGNS[case]})
    rows = make_rows("vqa", 6, seed=3)
    out = AlignmentScorer("vqa", to_dict(cfg.align))(rows_to_batch(rows))
    batch = collate([scoring_row(r, cfg.align) for r in rows])
    names = variant_names(cfg.align)
    assert names == [v.name for v in variants_of(cfg.align)]
    for name in names:
        with torch.no_grad():
            fused, _ = variant_scorer(cfg, name, 16)(batch)  # (B, C)
        for i in range(len(rows)):
            col = np.asarray(out[f"vscore_{name}"][i])
            np.testing.assert_allclose(fused[i, : len(col)].numpy(), col, atol=1e-5,
                                       err_msg=f"{case}: {name} row {i}")
    # and the variants differ where they should (the test could fail)
    assert not np.allclose(np.asarray(out["vscore_global"][0]),
                           np.asarray(out["vscore_fusion"][0]))


def _spec(tmp_path, align: str, components: str):
    (tmp_path / "exp.yaml").write_text(f"align: {align}\n")
    p = tmp_path / "ablations" / "s.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(f"base: ../exp.yaml\ncomponents: {components}\ntasks: [vqa, vcr]\n")
    return p


def test_ablation_spec_rejects_a_variant_metrics_would_not_have(tmp_path):
    lam0 = "{weights: {region_word: 2.0, region_sentence: 0.0, tag_text: 0.5}}"
    ok = load_ablation_spec(_spec(tmp_path, lam0, "[global, global+region_word, fusion]"))
    assert ok.components == ["global", "global+region_word", "fusion"]
    with pytest.raises(ConfigError, match=r"components\.1: variant global\+region_sentence is "
                                          r"not defined: align\.weights\.region_sentence is 0"):
        load_ablation_spec(_spec(tmp_path, lam0, "[global, global+region_sentence]"))
    only_rw = "{components: [region_word], weights: {region_word: 1.0}}"
    with pytest.raises(ConfigError, match="'tag_text' is not in align.components"):
        load_ablation_spec(_spec(tmp_path, only_rw, "[global+tag_text]"))
    with pytest.raises(ConfigError, match=r"components\.0: unknown variant 'global\+regions'"):
        load_ablation_spec(_spec(tmp_path, "{}", "[global+regions]"))


def test_config_rejects_contradicting_components_and_weights():
    with pytest.raises(ConfigError) as e:
        build_config({"align": {"components": ["region_word"]}})  # default λ on the others
    assert "align.weights.region_sentence: λ = 1.0 but 'region_sentence' is not in " \
           "align.components" in str(e.value)
    with pytest.raises(ConfigError, match=r"align\.components\.1: 'tag_text' is listed twice"):
        build_config({"align": {"components": ["tag_text", "tag_text"]}})
