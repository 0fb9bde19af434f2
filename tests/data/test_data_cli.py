"""``fgalign data stats|head`` and ``fgalign eval-vqa`` through fgalign.cli.main."""
import json
from pathlib import Path

from fgalign.cli import main

FX = Path(__file__).resolve().parents[1] / "fixtures"
VQA = FX / "vqa"
EVAL_ARGS = ["eval-vqa", "--questions", str(VQA / "v2_OpenEnded_mscoco_val2014_questions.json"),
             "--annotations", str(VQA / "v2_mscoco_val2014_annotations.json")]


def test_data_stats_json(capsys):
    assert main(["data", "stats", "--task", "snli_ve", "--root", str(FX / "snli_ve"),
                 "--split", "dev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"rows": 9, "errors": 6, "missing_images": 1, "skipped": {"gold_label '-'": 1}, "error_reasons": {
        "read:bad_label": 1, "read:malformed_json": 1, "read:missing_field": 2,
        "read:unsafe_path": 2}}


def test_data_stats_text_and_head(capsys):
    assert main(["data", "stats", "--task", "vcr", "--root", str(FX / "vcr"), "--split", "val"]) == 0
    text = capsys.readouterr().out
    assert "rows:           10" in text and "read:unsafe_path: 2" in text
    assert main(["data", "head", "--task", "vcr", "--root", str(FX / "vcr"), "--split", "val",
                 "-n", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["uid"] for r in rows] == ["vcr:val:val-0", "vcr:val:val-1"]


def test_data_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["data", "stats", "--task", "vqa", "--root", str(tmp_path), "--split", "x"]) != 0
    assert "v2_OpenEnded_mscoco_x_questions.json" in capsys.readouterr().err


def test_eval_vqa_json(capsys):
    assert main(EVAL_ARGS + ["--results", str(VQA / "results_val2014.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # red 100, two 100, "no" vs 8 yes / 2 no 60, x 100, "the sofa" vs ten "sofa" 0 (unanimous)
    assert out == {"overall": 72.0, "perAnswerType": {"other": 66.67, "number": 100.0, "yes/no": 60.0},
                   "perQuestionType": {"what color is the": 100.0, "how many": 100.0, "is it": 60.0,
                                       "what": 100.0, "where is the": 0.0}}


def test_eval_vqa_id_mismatch_exits_nonzero(tmp_path, capsys):
    res = json.loads((VQA / "results_val2014.json").read_text())[1:]
    res.append({"question_id": 123456, "answer": "x"})
    path = tmp_path / "res.json"
    path.write_text(json.dumps(res))
    assert main(EVAL_ARGS + ["--results", str(path)]) == 1
    err = capsys.readouterr().err
    assert "missing from results, e.g. 42000" in err and "123456" in err


def test_data_stats_takes_image_dirs_from_set(capsys):
    args = ["data", "stats", "--task", "vqa", "--root", str(VQA), "--split", "val2014", "--json"]
    assert main(args + ["--set", "data.vqa_images_dir=elsewhere"]) == 0
    assert json.loads(capsys.readouterr().out)["missing_images"] == 3
    assert main(args + ["--set", "data.no_such_key=1"]) == 2
    assert "data.no_such_key: unknown key" in capsys.readouterr().err


def test_eval_vqa_subset_scores_only_the_answered_questions(tmp_path, capsys):
    """The results of a data.limit run: refused with a hint, scored with --subset."""
    res = json.loads((VQA / "results_val2014.json").read_text())[:2]  # red 100, two 100
    path = tmp_path / "res.json"
    path.write_text(json.dumps(res))
    assert main(EVAL_ARGS + ["--results", str(path)]) == 1
    assert "pass --subset to score only the questions" in capsys.readouterr().err
    assert main(EVAL_ARGS + ["--results", str(path), "--subset", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["overall"] == 100.0
    assert err.strip() == (f"--subset: scoring 2 of the 5 questions of "
                           f"{VQA / 'v2_mscoco_val2014_annotations.json'}")
    res.append({"question_id": 123456, "answer": "x"})  # not annotated: still refused
    path.write_text(json.dumps(res))
    assert main(EVAL_ARGS + ["--results", str(path), "--subset"]) == 1
    assert "123456" in capsys.readouterr().err
