"""Readers: a split without labels gives unlabelled rows (not errors) in every task; a split
with no usable row raises EmptySplitError naming task, split and the skip / error counts."""
import json
import shutil
from pathlib import Path

import pytest

from fgalign.data import EmptySplitError
from fgalign.data.readers import usable_or_raise
from fgalign.tasks import read_split, read_task

FX = Path(__file__).resolve().parents[1] / "fixtures"


def write_jsonl(path, objs):
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))


def test_vqa_annotation_without_answers_is_unlabelled(tmp_path):
    shutil.copy(FX / "vqa/v2_OpenEnded_mscoco_val2014_questions.json", tmp_path)
    anns = json.loads((FX / "vqa/v2_mscoco_val2014_annotations.json").read_text())
    good = next(a for a in anns["annotations"] if a["question_id"] == 42000)
    del good["answers"]
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps(anns))
    r = {x["uid"]: x for x in read_task("vqa", tmp_path, "val2014")}["vqa:val2014:42000"]
    assert r["error"] == "" and r["target"] == [] and r["answer_type"] == ""


def test_vqa_test_split_has_no_annotations_file():
    (r,) = read_task("vqa", FX / "vqa", "test2015")
    assert r["error"] == "" and r["target"] == []


@pytest.mark.parametrize("absent", [{}, {"gold_label": None}])
def test_snli_ve_without_gold_label_is_unlabelled(tmp_path, absent):
    line = {"pairID": "p1", "sentence1": "A dog.", "sentence2": "An animal.",
            "Flickr30K_ID": "7", **absent}
    write_jsonl(tmp_path / "snli_ve_test.jsonl", [line])
    rows, skipped = read_split("snli_ve", tmp_path, "test")
    assert skipped == {} and rows[0]["error"] == "" and rows[0]["target"] == -1


def test_vcr_without_labels_is_unlabelled(tmp_path):
    shutil.copytree(FX / "vcr/vcr1images", tmp_path / "vcr1images")
    obj = json.loads((FX / "vcr/val.jsonl").read_text().splitlines()[0])
    del obj["answer_label"], obj["rationale_label"]
    write_jsonl(tmp_path / "test.jsonl", [obj])
    (r,) = read_task("vcr", tmp_path, "test")
    assert r["error"] == "" and r["target"] == -1 and r["rationale_label"] == -1


def test_all_no_majority_lines_name_the_reason(tmp_path):
    line = {"pairID": "p", "sentence1": "A.", "sentence2": "B.", "Flickr30K_ID": "7",
            "gold_label": "-"}
    write_jsonl(tmp_path / "snli_ve_test.jsonl", [line] * 15)
    rows, skipped = read_split("snli_ve", tmp_path, "test")
    assert rows == [] and skipped == {"gold_label '-'": 15}
    with pytest.raises(EmptySplitError) as e:
        usable_or_raise("snli_ve", "test", rows, skipped)
    assert str(e.value) == ("split test of snli_ve has no usable rows: 15 skipped for "
                            "gold_label '-'")
    assert (e.value.task, e.value.split) == ("snli_ve", "test")


def test_all_error_rows_and_empty_files_and_limits(tmp_path):
    write_jsonl(tmp_path / "snli_ve_test.jsonl",
                [{"pairID": "p", "sentence1": "A.", "sentence2": "B.", "Flickr30K_ID": "7",
                  "gold_label": "maybe"}] * 2 + [{"pairID": "q", "gold_label": "-"}])
    rows, skipped = read_split("snli_ve", tmp_path, "test")
    with pytest.raises(EmptySplitError, match=r"^split test of snli_ve has no usable rows: 1 "
                       r"skipped for gold_label '-'; 2 error rows \(read:bad_label 2\)$"):
        usable_or_raise("snli_ve", "test", rows, skipped)
    (tmp_path / "snli_ve_val.jsonl").write_text("")
    with pytest.raises(EmptySplitError, match="split val of snli_ve has no usable rows: the "
                       "split holds no record$"):
        usable_or_raise("snli_ve", "val", *read_split("snli_ve", tmp_path, "val"))
    with pytest.raises(EmptySplitError, match=r"only the first 0 rows kept \(data.limit\)"):
        usable_or_raise("vqa", "val2014", [], {}, 0)
    usable_or_raise("vqa", "val2014", read_task("vqa", FX / "vqa", "val2014"), {})  # usable
