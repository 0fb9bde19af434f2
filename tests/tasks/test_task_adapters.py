"""Task adapters: VQA vocabulary / filters / results, VCR statements, SNLI-VE classifier math."""
import numpy as np
import pytest

from fgalign.tasks.snli_ve import (
    add_snli_ve_statements,
    fit_logreg,
    fit_thresholds,
    logits,
    pair_features,
    standardize,
    standardizer,
    threshold_logits,
)
from fgalign.tasks.vcr import add_vcr_statements
from fgalign.tasks.vqa.answers import (
    add_vqa_statements,
    answer_type_of,
    candidates_for,
    gold_index,
    infer_answer_type,
    prepare_vqa,
    prior_scores,
    results_json,
    tag_filter_mask,
)


def _vqa_row(qid, question, answers, error=""):
    return {"uid": f"vqa:t:{qid}", "question_id": qid, "text": question, "target": answers,
            "error": error}


def test_answer_types_from_question_words():
    assert infer_answer_type("Is there a red circle?") == "yes/no"
    assert infer_answer_type("How many stars are there?") == "number"
    assert infer_answer_type("What color is the star?") == "other"
    assert infer_answer_type("Is it red or blue?") == "other"
    assert [answer_type_of(a) for a in ("no", "3", "two", "red")] == \
        ["yes/no", "number", "number", "other"]


def test_vocab_candidates_gold_and_prior():
    train = [_vqa_row(1, "q", ["red"] * 10), _vqa_row(2, "q", ["red"] * 6 + ["blue"] * 4),
             _vqa_row(3, "q", ["yes"] * 10), _vqa_row(4, "q", ["2"] * 10),
             _vqa_row(5, "q", ["blue"] * 10), _vqa_row(6, "q", [], error="read:x")]
    ctx = prepare_vqa(train, vocab_size=3)
    assert ctx["answer_vocab"] == ["red", "yes", "2"] and ctx["answer_counts"] == [2, 1, 1]
    assert candidates_for("What color is it?", ctx, True) == (["red"], "other")
    assert candidates_for("Is it?", ctx, False)[0] == ["red", "yes", "2"]
    assert gold_index(["red", "blue"], ["blue"] * 3 + ["red"] * 7) == 0
    assert gold_index(["green"], ["red"] * 10) == -1
    assert prior_scores(["2", "red", "zzz"], ctx).tolist() == [1.0, 2.0, 0.0]


def test_prefix_filter_keeps_answers_given_to_the_same_question_prefix():
    colors, shapes = ["red", "blue", "red"], ["circle", "star", "star"]
    train = ([_vqa_row(i, f"What color is object {i}?", [c] * 10) for i, c in enumerate(colors)]
             + [_vqa_row(10 + i, f"What shape is object {i}?", [s] * 10)
                for i, s in enumerate(shapes)]
             + [_vqa_row(20, "What size is it?", ["small"] * 10)])
    ctx = prepare_vqa(train, vocab_size=10, prefix_min=2)
    assert ctx["prefix_answers"] == {"what color": ["blue", "red"], "what shape": ["circle", "star"]}
    assert candidates_for("What color is the star?", ctx, True)[0] == \
        ["red", "star", "blue", "circle", "small"]  # answer type only: every "other" answer
    assert candidates_for("What color is the star?", ctx, True, prefix_filter=True) == \
        (["red", "blue"], "other")
    # a prefix asked too rarely in train ("what size": once) keeps the type-filtered list
    assert len(candidates_for("What size is it?", ctx, True, prefix_filter=True)[0]) == 5


def test_add_vqa_statements_keeps_error_rows():
    ctx = {"answer_vocab": ["red", "blue", "yes", "no"], "answer_counts": [4, 3, 2, 1],
           "answer_types": ["other", "other", "yes/no", "yes/no"]}
    rows = [_vqa_row(1, "What color is the star?", ["blue"] * 10),
            _vqa_row(2, "", [], error="read:missing_field")]
    conv = lambda qs, cands: [[f"{q}|{a}" for a in c] for q, c in zip(qs, cands)]
    out = add_vqa_statements(rows, ctx, conv, type_filter=True)
    assert len(out) == 2
    assert out[0]["candidates"] == ["red", "blue"] and out[0]["labels"] == [1]
    assert out[0]["statements"] == ["What color is the star?|red", "What color is the star?|blue"]
    assert out[0]["cand_group"] == [0, 0]
    assert out[1]["statements"] == [] and out[1]["labels"] == [-1]
    res = results_json(out, [1, -1])
    assert res == [{"question_id": 1, "answer": "blue"}, {"question_id": 2, "answer": ""}]


def test_tag_filter():
    m = tag_filter_mask(["red", "blue", "star"], "other", ["red circle", "green star"])
    assert m.tolist() == [True, False, True]
    assert tag_filter_mask(["yes", "no"], "yes/no", ["red circle"]).all()
    assert tag_filter_mask(["blue"], "other", ["red circle"]).all()  # nothing matches: keep all


def test_vcr_statements_groups_and_refs():
    row = {"error": "", "text": "What color is the star?", "text_refs": [1],
           "candidates": ["The star is red.", "The star is blue.", "The circle is red.", "No."],
           "candidate_refs": [[1], [1], [0], []], "target": 1, "rationale_label": 3,
           "rationales": ["r0", "r1", "r2", "r3 the circle"],
           "rationale_refs": [[], [], [], [0]]}
    out = add_vcr_statements([row])[0]
    assert out["statements"][1] == "What color is the star? The star is blue."
    assert out["statements"][7] == "What color is the star? The star is blue. r3 the circle"
    assert out["cand_group"] == [0] * 4 + [1] * 4 and out["labels"] == [1, 3]
    assert out["statement_refs"][2] == [1, 0] and out["statement_refs"][7] == [1, 0]
    only_q2a = add_vcr_statements([dict(row)], modes=["q2a"])[0]
    assert len(only_q2a["statements"]) == 4


def test_snli_ve_statements_and_features():
    rows = add_snli_ve_statements([{"text": "h", "target": 2, "error": ""},
                                   {"text": "", "target": -1, "error": "read:x"}])
    assert rows[0]["statements"] == ["h"] and rows[0]["labels"] == [2]
    assert rows[1]["statements"] == []
    p, h = np.array([[1.0, 0.0]]), np.array([[0.6, 0.8]])
    f = pair_features(p, h, np.array([[0.5]]))
    assert f[0].tolist() == pytest.approx([0.6, 0.0, 0.4, 0.8, 1.0, 0.0, 0.6, 0.8, 0.6, 0.5])
    assert pair_features(p, h, np.zeros((1, 0)), "scores").shape == (1, 3)


def test_logreg_separates_and_is_deterministic():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    x = rng.normal(size=(90, 4)).astype(np.float32) + np.eye(3, 4)[y] * 4
    st = standardizer(x)
    a = fit_logreg(standardize(x, st), y, l2=1e-3, steps=50, seed=0)
    b = fit_logreg(standardize(x, st), y, l2=1e-3, steps=50, seed=0)
    assert a == b
    assert (logits(x, a, st).argmax(1) == y).mean() > 0.95


def test_logreg_weights_do_not_depend_on_the_torch_thread_count():
    """One feature, 1260 rows (SNLI-VE's single-component fits): L-BFGS on two threads gave
    other weights than on one, so the metrics depended on the machine's cores; the fit now
    runs on one thread whatever the caller set, and restores the caller's count."""
    import torch

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1260, 1)).astype(np.float32), rng.integers(0, 3, 1260)
    old = torch.get_num_threads()
    try:
        fits = []
        for n in (2, 1, 3):
            torch.set_num_threads(n)
            fits.append(fit_logreg(x, y, steps=100))
            assert torch.get_num_threads() == n
    finally:
        torch.set_num_threads(old)
    assert fits[0] == fits[1] == fits[2]


def test_thresholds_recover_three_bins():
    s = np.array([0.1, 0.2, 0.5, 0.6, 0.9, 1.0])
    y = np.array([2, 2, 1, 1, 0, 0])  # low → contradiction, mid → neutral, high → entailment
    th = fit_thresholds(s, y, grid=11)
    assert (threshold_logits(s, th).argmax(1) == y).all()


def test_vcr_templates_choose_what_a_statement_holds():
    row = {"error": "", "text": "Q?", "text_refs": [1], "candidates": ["a0", "a1", "a2", "a3"],
           "candidate_refs": [[0], [], [], []], "target": 0, "rationale_label": 0,
           "rationales": ["r0", "r1", "r2", "r3"], "rationale_refs": [[2], [], [], []]}
    out = add_vcr_statements([row], answer_template="{answer}",
                             rationale_template="{answer} because {rationale}")[0]
    assert out["statements"][0] == "a0" and out["statement_refs"][0] == [0]
    assert out["statements"][4] == "a0 because r0" and out["statement_refs"][4] == [0, 2]


def test_yes_no_by_verification_threshold():
    from fgalign.tasks.vqa.answers import apply_yes_no, fit_yes_no, question_prefix, yes_prior

    assert question_prefix("Is there a red star?") == "is there"
    train = [_vqa_row(i, "Is there a star?", ["yes" if i % 4 else "no"] * 10) for i in range(8)]
    assert yes_prior(train) == {"is there": 0.75}
    val = [{"error": "", "candidates": ["yes", "no"], "answer_type_inferred": "yes/no",
            "question_prefix": "is there", "vscore_global": np.array([s, 0.0])}
           for s in (0.1, 0.2, 0.3, 0.4, 0.5)]
    th = fit_yes_no(val, ["global"], {"is there": 0.75}, min_rows=3)["global"]
    assert th["is there"] == pytest.approx(0.2) and th["*"] == pytest.approx(0.2)  # 25% quantile
    row = val[0]
    assert apply_yes_no(np.array([0.1, 9.0]), row, th).tolist() == pytest.approx([0.1, 0.2])
    other = dict(row, answer_type_inferred="other")
    assert apply_yes_no(np.array([0.1, 9.0]), other, th).tolist() == [0.1, 9.0]


def test_adaptation_protocol_is_the_tasks_not_its_label_classes():
    """The adaptation reads a task by its declared protocol: SNLI-VE's text-only classifier,
    candidates for multiple choice; a classification task that names none is refused with
    the protocols it may choose, not routed to SNLI-VE's code."""
    from fgalign.tasks import get_task
    from fgalign.tasks.base import ADAPT_PROTOCOLS, Task

    assert get_task("snli_ve").adaptation_protocol() == "text_only_classifier"
    assert get_task("vqa").adaptation_protocol() == get_task("vcr").adaptation_protocol() \
        == "candidates"

    class Sentiment(Task):
        name = "sentiment"
        label_classes = ("positive", "negative")

    with pytest.raises(ValueError, match="task 'sentiment' sets no adaptation protocol: set "
                       "Task.adapt_protocol to one of " + ", ".join(ADAPT_PROTOCOLS)):
        Sentiment().adaptation_protocol()
    Sentiment.adapt_protocol = "text_only_classifier"
    assert Sentiment().adaptation_protocol() == "text_only_classifier"
