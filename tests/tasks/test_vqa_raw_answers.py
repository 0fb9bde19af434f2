"""Predictions the official VQA evaluator credits: the answer vocabulary keeps annotators' raw
spellings, so the best-credit candidate of each question reaches the best credit the official
evaluator gives (``fgalign.metrics.vqa_evaluate``, a faithful copy of vqaEval.py).

Inputs: the case ``vqa-unanimous-raw-answer`` (a copy of ../shared/cases/ in tests/fixtures/),
one hand-written question per normalisation rule, and a small synthetic world.
"""
from pathlib import Path

import numpy as np
import pytest

from fgalign.data.synth import generate_world
from fgalign.metrics import normalize_answer, vqa_accuracy, vqa_evaluate
from fgalign.tasks import read_task
from fgalign.tasks.vqa.answers import (
    add_vqa_statements,
    answer_type_of,
    apply_yes_no,
    candidates_for,
    class_index,
    fit_yes_no,
    prepare_vqa,
    raw_spellings,
    results_json,
    tag_filter_mask,
    vqa_credit,
)

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "vqa-unanimous-raw-answer"


def echo(questions, cands):  # converter stand-in: statements are not what these tests check
    return [[f"{q} {a}" for a in c] for q, c in zip(questions, cands)]


def _row(qid, question, answers, **kw):
    return {"question_id": qid, "text": question, "target": list(answers), "error": "", **kw}


def _official(rows, preds):
    """Official overall accuracy of ``results_json(rows, preds)`` against the rows' answers."""
    anns = [{"question_id": r["question_id"], "question_type": "q", "answer_type": "a",
             "answers": [{"answer": a, "answer_id": i} for i, a in enumerate(r["target"])]}
            for r in rows]
    return vqa_evaluate(None, {"annotations": anns}, results_json(rows, preds))["overall"]


def _oracle(answers, classes):
    """Best official credit of any string of a vocabulary class: some human answer reaches it
    (the evaluator compares against the answers, raw when unanimous, normalised otherwise)."""
    return max([vqa_accuracy(h, answers) for h in answers
                if normalize_answer(h) in classes] or [0.0])


def _best_credit_preds(rows):
    return [int(np.argmax([vqa_accuracy(c, r["target"]) for c in r["candidates"]]))
            for r in rows]


# ---- the case --------------------------------------------------------------------------
def test_case_best_candidate_reaches_100():
    train = read_task("vqa", CASE / "data", "train2014")
    val = read_task("vqa", CASE / "data", "val2014")
    ctx = prepare_vqa(train, vocab_size=100)
    assert ctx["answer_vocab"] == ["t-shirt", "hat"]  # raw spelling, not the class "t shirt"
    assert ctx["answer_classes"] == ["t shirt", "hat"]
    add_vqa_statements(val, ctx, echo, type_filter=True)
    assert [r["candidates"][r["labels"][0]] for r in val] == ["t-shirt", "hat"]
    assert _official(val, [r["labels"][0] for r in val]) == 100.0
    assert _official(val, _best_credit_preds(val)) == 100.0
    assert [vqa_credit(r["candidates"], r["target"]).tolist() for r in val] == \
        [[1.0, 0.0], [0.0, 1.0]]


def test_case_normalised_candidate_would_score_zero():
    """Why: ten identical answers are compared raw, so the class "t shirt" gets nothing."""
    assert vqa_accuracy("t shirt", ["t-shirt"] * 10) == 0.0
    assert vqa_accuracy("t-shirt", ["t-shirt"] * 10) == 1.0


# ---- every normalisation rule of the official evaluator ---------------------------------
RULES = [  # (rule, raw spelling annotators use, its normalised class)
    ("hyphen", "t-shirt", "t shirt"),
    ("article", "the beach", "beach"),
    ("article an", "an apple", "apple"),
    ("number word", "two", "2"),
    ("number word none", "none", "0"),
    ("punctuation", "yes!", "yes"),
    ("slash", "left/right", "left right"),
    ("contraction", "dont know", "don't know"),
    ("digits with comma", "1,000", "1000"),
    ("period", "st. louis", "st louis"),
    ("capitals", "Red", "red"),
    ("whitespace", " pizza\t", "pizza"),
]


@pytest.mark.parametrize("rule,raw,cls", RULES, ids=[r[0] for r in RULES])
def test_each_rule_keeps_the_raw_spelling(rule, raw, cls):
    assert normalize_answer(raw) == cls != raw
    q = "What is it?"
    train = [_row(i, q, [raw] * 10) for i in range(3)] + [_row(9, q, ["zzz"] * 10)]
    ctx = prepare_vqa(train, vocab_size=10)
    spelled = raw.strip()  # the evaluator strips answers before comparing them
    assert ctx["answer_vocab"][0] == spelled and ctx["answer_classes"][0] == cls
    unanimous = _row(100, q, [raw] * 10)
    mixed = _row(101, q, [raw] * 6 + [cls] * 2 + ["zzz"] * 2)  # disagreeing: normalised
    rows = add_vqa_statements([unanimous, mixed], ctx, echo, type_filter=False)
    assert [r["candidates"][r["labels"][0]] for r in rows] == [spelled, spelled]
    assert [vqa_accuracy(spelled, r["target"]) for r in rows] == [1.0, 1.0]
    assert _official(rows, [r["labels"][0] for r in rows]) == 100.0
    # the class itself is not credited unless only surrounding whitespace differed
    assert vqa_accuracy(cls, unanimous["target"]) == (1.0 if cls == spelled else 0.0)


def test_raw_spelling_majority_and_deterministic_ties():
    rows = [_row(1, "q", ["T-shirt"] * 6 + ["t-shirt"] * 4), _row(2, "q", ["t-shirt"] * 3)]
    assert raw_spellings(rows) == {"t shirt": "t-shirt"}  # 7 against 6
    tie = [_row(1, "q", ["T-Shirt"] * 5 + ["t shirt"] * 5), _row(2, "q", ["t-shirt"] * 5)]
    assert raw_spellings(tie) == {"t shirt": "t shirt"}  # lower-case first, then smallest
    assert raw_spellings(tie[::-1]) == raw_spellings(tie)
    assert raw_spellings([_row(1, "q", ["D"] * 2 + ["C"] * 2)]) == {"c": "C", "d": "D"}
    assert raw_spellings([_row(1, "q", ["two", "2"])]) == {"2": "2"}


def test_types_yes_no_and_tags_read_the_class_of_raw_answers():
    assert [answer_type_of(a) for a in ("Yes", "no.", "Two", "2", "1,000", "t-shirt")] == \
        ["yes/no", "yes/no", "number", "number", "number", "other"]
    train = [_row(i, "Is it red?", ["Yes"] * 10) for i in range(3)] + \
        [_row(10 + i, "Is it red?", ["No"] * 10) for i in range(2)]
    ctx = prepare_vqa(train, vocab_size=10)
    assert ctx["answer_vocab"] == ["Yes", "No"] and ctx["answer_types"] == ["yes/no"] * 2
    cands, qtype = candidates_for("Is it blue?", ctx, type_filter=True)
    assert (cands, qtype) == (["Yes", "No"], "yes/no")
    assert class_index(cands, "no") == 1 and class_index(cands, "maybe") == -1
    row = {"candidates": cands, "answer_type_inferred": "yes/no", "question_prefix": "is it",
           "error": "", "vscore_v": [0.5, 0.0]}
    theta = fit_yes_no([row], ["v"], {"is it": 0.5}, min_rows=1)["v"]
    assert theta == {"*": 0.5, "is it": 0.5}
    assert apply_yes_no(np.array([0.7, 9.0]), row, theta).tolist() == [0.7, 0.5]
    assert tag_filter_mask(["T-Shirt", "hat"], "other", ["red shirt"]).tolist() == [True, False]


# ---- the demo world ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw") / "world"
    generate_world(out, seed=0, images=60, image_size=64, progress=False)
    return out


def test_demo_world_best_candidate_reaches_the_official_best(world):
    from fgalign.config import DataCfg

    cfg = DataCfg(vqa_images_dir="images", vqa_image_template="COCO_{split}_{image_id:012d}.png")
    train = read_task("vqa", world, "train", cfg)
    test = [r for r in read_task("vqa", world, "test", cfg) if not r["error"]]
    ctx = prepare_vqa(train, vocab_size=100)
    classes = set(ctx["answer_classes"])
    add_vqa_statements(test, ctx, echo, type_filter=False)
    best = [max(vqa_accuracy(c, r["target"]) for c in r["candidates"]) for r in test]
    oracle = [_oracle(r["target"], classes) for r in test]
    assert best == oracle  # every question, exactly
    assert len(test) > 50 and np.mean(oracle) > 0.9
    assert _official(test, _best_credit_preds(test)) == round(100 * float(np.mean(oracle)), 2)
    gold = [r["labels"][0] for r in test]
    assert _official(test, gold) == _official(test, _best_credit_preds(test))
