"""Id sets that differ only in type ("1" vs 1) are reported as a type difference, everywhere an
id set is compared: ``vqa_evaluate``, ``fgalign eval-vqa``, the multiple-choice check and the
VQA reader's join of questions to annotations."""
import json
from pathlib import Path

import pytest

from fgalign.cli import main
from fgalign.data import DataFileError
from fgalign.metrics import vqa_evaluate
from fgalign.metrics.vqa import id_mismatch
from fgalign.tasks import read_task_report

VQA = Path(__file__).resolve().parents[1] / "fixtures" / "vqa"


def _dataset(qids, answer_ids=None):
    anns = [{"question_id": q, "question_type": "what", "answer_type": "other",
             "answers": [{"answer": "x", "answer_id": i + 1} for i in range(10)]}
            for q in (answer_ids or qids)]
    questions = {"questions": [{"question_id": q, "image_id": 1, "question": "What?"}
                               for q in qids]}
    return questions, {"annotations": anns}


def test_id_mismatch_names_a_type_difference_not_missing_and_extra():
    msg = id_mismatch({"1", "2"}, {1, 2})
    assert msg == ("question ids differ in type: results have str ids, annotations have int "
                   "ids (2 match only as text, e.g. '1' in results vs 1 in annotations); write "
                   "them as int like the annotations")
    assert "missing" not in msg and "not in annotations" not in msg


def test_id_mismatch_keeps_genuinely_absent_ids_next_to_the_type_difference():
    msg = id_mismatch({"1", "7"}, {1, 2})
    assert "differ in type" in msg and "1 match only as text" in msg
    assert "1 question id(s) missing from results, e.g. 2" in msg
    assert "1 question id(s) in results but not in annotations, e.g. '7'" in msg


def test_id_mismatch_same_type():
    assert id_mismatch({1, 2}, {1, 2}) == ""
    assert id_mismatch({1, 99}, {1, 2}) == ("1 question id(s) missing from results, e.g. 2; "
                                            "1 question id(s) in results but not in "
                                            "annotations, e.g. 99")


def test_vqa_evaluate_string_ids_say_types_differ():
    q, a = _dataset([1, 2])
    with pytest.raises(ValueError) as e:
        vqa_evaluate(q, a, [{"question_id": "1", "answer": "x"},
                            {"question_id": "2", "answer": "x"}])
    assert "results have str ids, annotations have int ids" in str(e.value)
    assert "missing" not in str(e.value)


def test_multiple_choice_check_names_the_type_difference():
    q, a = _dataset([1, 2])
    q["task_type"] = "Multiple Choice"
    for x in q["questions"]:
        x["question_id"] = str(x["question_id"])  # questions file with str ids
        x["multiple_choices"] = ["x"]
    res = [{"question_id": 1, "answer": "x"}, {"question_id": 2, "answer": "x"}]
    with pytest.raises(ValueError, match="results have int ids, questions have str ids"):
        vqa_evaluate(q, a, res)


def test_eval_vqa_cli_message(tmp_path, capsys):
    res = json.loads((VQA / "results_val2014.json").read_text())
    for r in res:
        r["question_id"] = str(r["question_id"])
    (tmp_path / "res.json").write_text(json.dumps(res))
    args = ["eval-vqa", "--questions", str(VQA / "v2_OpenEnded_mscoco_val2014_questions.json"),
            "--annotations", str(VQA / "v2_mscoco_val2014_annotations.json"),
            "--results", str(tmp_path / "res.json")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "question ids differ in type: results have str ids, annotations have int ids" in err
    assert "missing from results" not in err


def test_reader_refuses_annotations_whose_ids_are_text(tmp_path):
    q, a = _dataset([1, 2], answer_ids=["1", "2"])
    (tmp_path / "v2_OpenEnded_mscoco_s_questions.json").write_text(json.dumps(q))
    (tmp_path / "v2_mscoco_s_annotations.json").write_text(json.dumps(a))
    with pytest.raises(DataFileError, match="annotations have str ids, questions have int ids"):
        read_task_report("vqa", tmp_path, "s")


def test_reader_row_reason_for_one_text_id(tmp_path):
    q, a = _dataset([1, 2], answer_ids=[1, "2"])
    (tmp_path / "v2_OpenEnded_mscoco_s_questions.json").write_text(json.dumps(q))
    (tmp_path / "v2_mscoco_s_annotations.json").write_text(json.dumps(a))
    rows, rep = read_task_report("vqa", tmp_path, "s")
    assert [r["error"] for r in rows] == ["", "read:annotation_id_type"]
    assert rep["error_reasons"] == {"read:annotation_id_type": 1}
