"""Readers on hand-written fixtures in the official formats (tests/fixtures/)."""
import json
from pathlib import Path

import pytest

from fgalign.config import DataCfg
from fgalign.data import DataFileError
from fgalign.schema import COMMON_FIELDS, SNLI_VE_LABELS, TASK_FIELDS
from fgalign.tasks import read_task, read_task_report

FX = Path(__file__).resolve().parents[1] / "fixtures"


def by_uid(rows):
    return {r["uid"]: r for r in rows}


@pytest.mark.parametrize("task, split", [("vqa", "val2014"), ("snli_ve", "dev"), ("vcr", "val")])
def test_every_row_has_the_schema_columns(task, split):
    rows = read_task(task, FX / task, split)
    for row in rows:
        assert set(row) == set(COMMON_FIELDS) | set(TASK_FIELDS[task])
        assert row["task"] == task and row["split"] == split
        assert (row["image_path"] == "") == bool(row["error"])
        assert not row["error"] or row["error"].startswith("read:")
    json.dumps(rows)  # plain JSON-able


def test_vqa_rows_errors_and_images():
    rows, rep = read_task_report("vqa", FX / "vqa", "val2014")
    assert rep == {"rows": 7, "errors": 4, "missing_images": 1, "skipped": {}, "error_reasons": {
        "read:bad_field": 1, "read:malformed_record": 1, "read:missing_annotation": 1,
        "read:missing_field": 1}}
    r = by_uid(rows)
    good = r["vqa:val2014:42000"]
    assert good["image_path"] == "val2014/COCO_val2014_000000000042.jpg"
    assert good["target"][7] == "Red" and len(good["target"]) == 10
    assert (good["question_type"], good["answer_type"], good["image_id"]) == ("what color is the", "other", 42)
    assert r["vqa:val2014:7001"]["error"] == "read:missing_field"
    assert r["vqa:val2014:7001"]["question_id"] == 7001
    assert r["vqa:val2014:7002"]["error"] == "read:bad_field"
    assert r["vqa:val2014:7003"]["error"] == "read:missing_annotation"
    assert r["vqa:val2014:record6"]["error"] == "read:malformed_record"


def test_vqa_test_split_without_annotations_and_custom_images_dir():
    cfg = DataCfg(vqa_images_dir="images/{split}")
    (row,) = read_task("vqa", FX / "vqa", "test2015", cfg)
    assert row["error"] == "" and row["target"] == []
    assert row["question_type"] == row["answer_type"] == ""
    assert row["image_path"] == "images/test2015/COCO_test2015_000000000009.jpg"


def test_snli_ve_both_spellings_skips_and_errors():
    rows, rep = read_task_report("snli_ve", FX / "snli_ve", "dev")
    assert rep["skipped"] == {"gold_label '-'": 1} and rep["rows"] == 9 and rep["missing_images"] == 1
    assert rep["error_reasons"] == {"read:bad_label": 1, "read:malformed_json": 1,
                                    "read:missing_field": 2, "read:unsafe_path": 2}
    r = by_uid(rows)
    e, c = r["snli_ve:dev:1000092795.jpg#0r1e"], r["snli_ve:dev:1000092795.jpg#0r1c"]
    assert e["image_path"] == c["image_path"] == "flickr30k_images/1000092795.jpg"
    assert (e["target"], c["target"]) == (0, 2) and e["candidates"] == list(SNLI_VE_LABELS)
    assert e["premise"].startswith("Two young guys") and e["text"] == "Two men are outside."
    assert r["snli_ve:dev:esc#1"]["error"] == r["snli_ve:dev:abs#1"]["error"] == "read:unsafe_path"
    assert r["snli_ve:dev:line5"]["error"] == "read:malformed_json"
    assert r["snli_ve:dev:noimg#1"]["error"] == "read:missing_field"


def test_vcr_rendering_refs_boxes_and_errors():
    rows, rep = read_task_report("vcr", FX / "vcr", "val")
    assert rep["rows"] == 10 and rep["missing_images"] == 0
    assert rep["error_reasons"] == {
        "read:bad_label": 1, "read:bad_metadata": 1, "read:bad_reference": 1,
        "read:malformed_json": 1, "read:missing_field": 1, "read:missing_metadata": 1,
        "read:unsafe_path": 2}
    r = by_uid(rows)
    g = r["vcr:val:val-0"]
    assert g["text"] == "Why is person 1 looking at the dog?" and g["text_refs"] == [0, 2]
    assert g["candidates"][1] == "Person 1 is waiting for person 2."
    assert g["candidates"][2] == "Person 1 and person 2 are asleep."
    assert g["candidate_refs"] == [[], [0, 1], [0, 1], []]
    assert g["rationales"][0] == "The dog is growling at person 1."
    assert g["rationale_refs"][0] == [2, 0] and (g["target"], g["rationale_label"]) == (0, 0)
    assert g["given_boxes"][2] == [300.0, 200.0, 380.0, 280.0]
    assert g["object_names"] == ["person", "person", "dog"]
    assert r["vcr:val:val-1"]["error"] == "read:bad_reference"
    assert r["vcr:val:val-2"]["error"] == r["vcr:val:val-3"]["error"] == "read:unsafe_path"
    assert r["vcr:val:val-4"]["error"] == "read:missing_field"
    assert r["vcr:val:line5"]["error"] == "read:malformed_json"
    test_like = r["vcr:val:val-8"]
    assert test_like["error"] == "" and (test_like["target"], test_like["rationale_label"]) == (-1, -1)


def test_unreadable_files_raise_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="snli_ve_dev.jsonl"):
        read_task("snli_ve", tmp_path, "dev")
    (tmp_path / "v2_OpenEnded_mscoco_val_questions.json").write_text("{oops")
    with pytest.raises(DataFileError, match="v2_OpenEnded_mscoco_val_questions.json"):
        read_task("vqa", tmp_path, "val")
    with pytest.raises(ValueError, match="unknown task"):
        read_task("gqa", tmp_path, "val")
