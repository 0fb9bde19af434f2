"""VQA answer types follow the official definitions (issue 19 kind 6).

Number-like answers of every official form ("2", "2.5", "1,000", "10:30", "1/2"); an answer's
types are the official ``answer_type`` of the train questions humans gave it to; a question's
type is the majority official answer type of its official ``question_type``; the type filter
never removes an answer humans gave to that answer type or that question type. Then the
input ``tests/fixtures/inputs/vqa-number-answers`` in process and on Ray, at candidates batch
size 1 and the default.
"""
import json
from pathlib import Path

import pytest

from fgalign.tasks.vqa.answers import (
    answer_type_of,
    candidates_for,
    infer_answer_type,
    official_question_type,
    prepare_vqa,
)

REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "tests/fixtures/inputs/vqa-number-answers"


def _row(qid, question, answers, qtype="", atype=""):
    return {"question_id": qid, "text": question, "target": list(answers), "error": "",
            "question_type": qtype, "answer_type": atype}


@pytest.mark.parametrize("answer", ["2", "2.5", "1,000", "10:30", "1/2", "two", "Ten"])
def test_number_like_answers(answer):
    assert answer_type_of(answer) == "number"


@pytest.mark.parametrize("answer", ["red", "2 dogs", "10:30 pm", "yes"])
def test_not_number_like(answer):
    assert answer_type_of(answer) != "number"


TRAIN = [
    _row(1, "How much does it cost?", ["2.5"] * 10, "how much", "number"),
    _row(2, "What time is it?", ["10:30"] * 10, "what time", "other"),
    _row(3, "What time is shown?", ["noon"] * 6 + ["10:30"] * 4, "what time", "other"),
    _row(4, "What number is on the bus?", ["12"] * 10, "what number is", "other"),
    _row(5, "How many people are in the room?", ["3"] * 7 + ["lots"] * 3,
         "how many people are in", "number"),
    _row(6, "How many people are in the hall?", ["lots"] * 10, "how many people are in",
         "number"),
    _row(7, "What color is the bus?", ["red"] * 10, "what color is the", "other"),
    _row(8, "Is it red?", ["yes"] * 10, "is it", "yes/no"),
]


def test_types_come_from_the_official_annotations():
    ctx = prepare_vqa(TRAIN, vocab_size=20)
    sets = dict(zip(ctx["answer_vocab"], ctx["answer_type_sets"]))
    assert sets["10:30"] == ["number", "other"]  # number-like, and given to "what time" (other)
    assert sets["12"] == ["number", "other"] and sets["lots"] == ["number", "other"]
    assert sets["red"] == ["other"] and sets["yes"] == ["yes/no"]
    assert ctx["question_types"]["what time"] == "other"
    assert ctx["question_types"]["what number is"] == "other"
    assert official_question_type("how many people are in the bus?", ctx["question_types"]) \
        == "how many people are in"
    assert infer_answer_type("What number is on the train?", ctx) == "other"  # official
    assert infer_answer_type("What number is on the train?") == "number"  # rule, no ctx


@pytest.mark.parametrize("question, given", [
    ("How much is the cake?", ["2.5"]),
    ("What time is it now?", ["10:30", "noon"]),
    ("What number is on the train?", ["12"]),
    ("How many people are in the park?", ["3", "lots"]),  # "lots": humans gave it to the type
])
def test_type_filter_keeps_every_answer_humans_gave_for_the_type(question, given):
    ctx = prepare_vqa(TRAIN, vocab_size=20)
    kept, _ = candidates_for(question, ctx, type_filter=True)
    assert set(given) <= set(kept)
    assert "yes" not in kept  # the filter still filters


def test_without_official_annotations_the_rules_apply():
    rows = [dict(r, question_type="", answer_type="") for r in TRAIN]
    ctx = prepare_vqa(rows, vocab_size=20)
    assert ctx["question_types"] == {} and ctx["question_type_answers"] == {}
    kept, qtype = candidates_for("How much is the cake?", ctx, type_filter=True)
    assert qtype == "number" and "2.5" in kept and "red" not in kept


@pytest.mark.slow
@pytest.mark.parametrize("command", ["evaluate", pytest.param("run", marks=pytest.mark.ray)])
@pytest.mark.parametrize("batch", [32, 1])
def test_every_gold_answer_survives_the_filters(run_input, command, batch):
    run_dir = run_input(command, CASE, f"ray.stages.candidates.batch_size={batch}")
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]["vqa"]
    # "2.5" (how much), "10:30" (what number is: official type other), "1,000": before, the
    # type filter removed the first two (recall 60)
    assert m["n"] == 5 and m["retrieval"]["recall@k"] == 100.0
