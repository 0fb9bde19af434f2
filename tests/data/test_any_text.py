"""Any text a JSON file can hold (issue 19 kind 4): normalised once where it is read (NFC,
zero-width characters removed), a lone surrogate makes one ``read:invalid_text`` row, and
every other row is read, in every reader; then the whole run, in process and on Ray, at two
batch sizes."""
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fgalign.data.paths import RowError, clean_record, clean_text, printable
from fgalign.tasks import read_task

FX = Path(__file__).resolve().parents[1] / "fixtures"
REPO = FX.parents[1]
CASE = FX / "inputs/any-text"
CUT = "\ud83d"  # the high half of 🔵: what a byte-counting cut of an emoji leaves


def test_clean_text_normalises_and_refuses_lone_surrogates():
    assert clean_text("cafe\u0301") == "caf\u00e9"  # NFD → NFC
    assert clean_text("a\u200bb\u200c\u200dc\u2060d\ufeff") == "abcd"
    assert clean_text("\U0001F535 ok") == "\U0001F535 ok"  # a whole emoji stays
    for bad in (CUT, "x\udc00y"):
        with pytest.raises(RowError) as e:
            clean_text(bad)
        assert e.value.reason == "invalid_text"
    assert clean_record({"k\u200b": ["cafe\u0301", 1, None]}) == {"k": ["caf\u00e9", 1, None]}
    assert printable("a" + CUT) == "a?" and printable(3) == 3


def _write_snli(root, hyps):
    (root / "flickr30k_images").mkdir(parents=True)
    with open(root / "snli_ve_test.jsonl", "w") as f:
        f.write("\ufeff")  # a BOM before the first line is not a malformed line
        f.writelines(json.dumps({"pairID": f"p{i}", "sentence1": "x", "sentence2": h,
                                 "gold_label": "entailment", "Flickr30K_ID": "1"}) + "\n"
                     for i, h in enumerate(hyps))


def test_snli_ve_reader(tmp_path):
    _write_snli(tmp_path, ["a\u200b red cafe\u0301", "bad " + CUT, "\u200b\u2060", "ok"])
    rows = read_task("snli_ve", tmp_path, "test")
    assert [r["error"] for r in rows] == ["", "read:invalid_text", "read:empty_text", ""]
    assert rows[0]["text"] == "a red caf\u00e9"
    assert rows[1]["text"] == "bad ?"  # the error row keeps a storable copy
    json.dumps(rows, ensure_ascii=False).encode("utf-8")  # every string encodes


def test_vqa_reader(tmp_path):
    qs = [{"image_id": 1, "question_id": 1, "question": "What colo\u200br is the cafe\u0301?"},
          {"image_id": 1, "question_id": 2, "question": "What " + CUT + "?"},
          {"image_id": 1, "question_id": 3, "question": "How many?"}]
    ans = lambda qid, a: {"question_id": qid, "image_id": 1, "question_type": "what color is the",
                          "answer_type": "other", "answers": [{"answer": a}] * 10}
    (tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(
        json.dumps({"questions": qs}))
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps(
        {"annotations": [ans(1, "re\u0301d\u200b"), ans(2, "red"), ans(3, "2" + CUT)]}))
    rows = read_task("vqa", tmp_path, "val2014")
    assert [r["error"] for r in rows] == ["", "read:invalid_text", "read:invalid_text"]
    assert rows[0]["text"] == "What color is the caf\u00e9?"
    assert rows[0]["target"] == ["r\u00e9d"] * 10
    json.dumps(rows, ensure_ascii=False).encode("utf-8")


def test_vcr_reader(tmp_path):
    shutil.copytree(FX / "vcr", tmp_path, dirs_exist_ok=True)
    line = json.loads((FX / "vcr/val.jsonl").read_text().splitlines()[0])
    zw = dict(line, annot_id="zw", question=["Why", "is\u200b", [0], "cafe\u0301", "?"])
    cut = dict(line, annot_id="cut", answer_choices=[["He", CUT]] + line["answer_choices"][1:])
    (tmp_path / "val.jsonl").write_text("".join(json.dumps(x) + "\n" for x in (line, zw, cut)))
    rows = {r["annot_id"]: r for r in read_task("vcr", tmp_path, "val")}
    assert rows["zw"]["error"] == "" and "is" in rows["zw"]["text"].split()
    assert "caf\u00e9" in rows["zw"]["text"]
    assert rows["cut"]["error"] == "read:invalid_text" and rows["val-0"]["error"] == ""


@pytest.mark.slow
@pytest.mark.parametrize("command, batch, extractor", [
    ("evaluate", 32, "spacy"), ("evaluate", 1, "spacy"), ("evaluate", 32, "rule"),
    pytest.param("run", 32, "spacy", marks=pytest.mark.ray),
    pytest.param("run", 1, "spacy", marks=pytest.mark.ray)])
def test_both_paths_score_every_other_row(run_input, command, batch, extractor):
    run_dir = run_input(command, CASE, f"keywords.extractor={extractor}",
                       f"ray.stages.keywords.batch_size={batch}",
                       f"ray.stages.embed.batch_size={batch}")
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]["snli_ve"]
    # 27 rows: 4 with a lone surrogate (hypothesis ×2, pair id, premise), 1 only zero-width
    assert m["n"] == 27
    assert m["errors"] == {"read:invalid_text": 4, "read:empty_text": 1}
    preds = pq.read_table(run_dir / "predictions.parquet").to_pylist()
    assert len(preds) == 27
    assert sum(r["pred_fusion"] >= 0 for r in preds) == 22
