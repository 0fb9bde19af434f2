"""fgalign.data.formats: each official format's writer and reader agree, with the official names."""
import hashlib
import json

import pytest

from fgalign.data.formats import snli_ve, vcr, vqav2
from fgalign.data.formats.jsonio import COMPACT, SORTED, write_json
from fgalign.data.paths import DataFileError
from fgalign.data.synth.world import generate_world


def test_vqav2_round_trip_and_official_names(tmp_path):
    qs = [vqav2.question(42001, 42, "What color is the cup?")]
    anns = [vqav2.annotation(42001, 42, "what color is the", "other", "red",
                             ["red"] * 9 + ["brown"], ["yes"] * 9 + ["maybe"])]
    q_path, a_path = vqav2.write_split(tmp_path, "val2014", qs, anns, description="t")
    assert (q_path.name, a_path.name) == ("v2_OpenEnded_mscoco_val2014_questions.json",
                                          "v2_mscoco_val2014_annotations.json")
    data = json.loads(q_path.read_text())
    assert list(data) == [*vqav2.QUESTIONS_HEAD, "questions"]
    assert data["task_type"] == "Open-Ended" and data["data_subtype"] == "val2014"
    assert list(qs[0]) == ["image_id", "question", "question_id"]
    assert anns[0]["answers"][9] == {"answer": "brown", "answer_confidence": "maybe", "answer_id": 10}
    got = vqav2.read_split(tmp_path, "val2014")
    assert (got.questions, got.annotations) == (qs, anns)
    assert vqav2.image_relpath("val2014", 42) == "val2014/COCO_val2014_000000000042.jpg"


def test_vqav2_reads_the_official_subfolders_and_a_split_without_answers(tmp_path):
    (tmp_path / "Questions").mkdir()
    write_json(tmp_path / "Questions" / "v2_OpenEnded_mscoco_test2015_questions.json",
               {"questions": [vqav2.question(1, 2, "Why?")]})
    got = vqav2.read_split(tmp_path, "test2015")
    assert got.annotations is None and got.questions_path.parent.name == "Questions"
    write_json(tmp_path / "v2_mscoco_test2015_annotations.json", {"annotations": {}})
    with pytest.raises(DataFileError, match="'annotations' list"):
        vqav2.read_split(tmp_path, "test2015")
    with pytest.raises(FileNotFoundError, match="v2_OpenEnded_mscoco_val_questions.json"):
        vqav2.read_split(tmp_path, "val")


def test_vqav2_question_types_are_the_official_prefixes():
    types = vqav2.question_types()
    assert len(types) == 64 and types[:3] == ("how many", "is the", "what")


def test_snli_ve_pairs_both_id_spellings_round_trip(tmp_path):
    a = snli_ve.pair("123.jpg", 0, 1, "A dog runs.", "An animal moves.", "entailment")
    b = snli_ve.pair("123.jpg", 0, 2, "A dog runs.", "A cat sleeps.", "contradiction",
                     id_key="Flickr30K_ID")
    assert a["Flikr30kID"] == "123.jpg" and b["Flickr30K_ID"] == "123"
    assert (a["captionID"], a["pairID"], b["pairID"]) == ("123.jpg#0", "123.jpg#0r1e",
                                                         "123.jpg#0r2c")
    path = snli_ve.write_split(tmp_path, "dev", [a, b])
    assert path.name == "snli_ve_dev.jsonl"
    assert [obj for _, obj in snli_ve.read_split(tmp_path, "dev")] == [a, b]


def test_vcr_annotation_metadata_round_trip_and_a_misspelt_field(tmp_path):
    line = vcr.annotation(movie="m", objects=["person"], img_fn="m/i.jpg",
                          metadata_fn="m/i.json", question=["Why", "is", [0], "here", "?"],
                          annot_id="val-0")
    assert list(line)[:2] == ["movie", "objects"]
    with pytest.raises(ValueError, match="unknown field.*answer_choice"):
        vcr.annotation(answer_choice=[])
    meta = vcr.metadata([[0, 0, 4, 4]], [0.9], [[[[0, 0], [4, 0], [4, 4]]]], ["person"], 8, 8)
    assert meta["boxes"] == [[0, 0, 4, 4, 0.9]] and list(meta) == list(vcr.METADATA_FIELDS)
    images = tmp_path / vcr.IMAGES_DIR
    vcr.write_metadata(images, "m/i.json", meta)
    vcr.write_split(tmp_path, "val", [line])
    assert vcr.read_metadata(images / "m/i.json") == meta
    assert [obj for _, obj in vcr.read_split(tmp_path, "val")] == [line]


def test_json_styles_change_bytes_only(tmp_path):
    obj = {"b": 1, "a": [1, "x"]}
    assert write_json(tmp_path / "c.json", obj, COMPACT).read_text() == '{"b": 1, "a": [1, "x"]}'
    assert write_json(tmp_path / "s.json", obj, SORTED).read_text() == '{"a": [1, "x"], "b": 1}\n'


def test_synth_world_text_files_keep_their_bytes(tmp_path):
    """The world's fingerprint (and every stage cache keyed on it) depends on these bytes: a
    change of format writer must not change them (update the digest only with a new
    FORMAT_VERSION). PNG files are left out (their bytes depend on the zlib build)."""
    generate_world(tmp_path / "w", seed=4321, images=6, image_size=32, progress=False)
    digest = hashlib.sha256()
    for p in sorted((tmp_path / "w").rglob("*")):
        if p.is_file() and p.suffix in (".json", ".jsonl") and p.name != "world.json":
            digest.update(p.relative_to(tmp_path / "w").as_posix().encode() + b"\0" + p.read_bytes())
    assert digest.hexdigest() == GOLDEN_TEXT_SHA256


# computed with the writers before data/formats (main at 9b4636e) and after: equal
GOLDEN_TEXT_SHA256 = "8e41528883d3e27325defdbb56aa0f74f186e6a1d0ef4bafe0ab0ffecec2fe7f"
