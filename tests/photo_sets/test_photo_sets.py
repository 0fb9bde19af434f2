"""The real-photo sets (fgalign.data.photo_sets): official layouts, every file variant readable."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("skimage", reason="photo sets need scikit-image (the dev extra)")

from fgalign.data.photo_sets import (
    EXIF_ORIENTATION,
    PHOTOS,
    load_photo,
    question_type,
    round_robin,
)
from fgalign.regions.crops import load_rgb
from fgalign.tasks import read_task_report


@pytest.fixture(scope="module")
def sets(photo_sets):
    """The session's photo sets (tests/conftest.py: ``make_photo_sets``, large side 4000 px)."""
    return photo_sets


def test_every_split_reads_without_error_rows(sets):
    got = {}
    for task, name, splits in (("vqa", "vqav2", ("train2014", "val2014")),
                               ("snli_ve", "snli_ve", ("train", "dev", "test")),
                               ("vcr", "vcr", ("train", "val"))):
        for split in splits:
            _, rep = read_task_report(task, sets[name]["root"], split)
            got[f"{task}:{split}"] = (rep["rows"], rep["errors"], rep["missing_images"],
                                      rep["skipped"])
    dash = {"gold_label '-'": 1}  # skipped records by reason
    assert got == {"vqa:train2014": (78, 0, 0, {}), "vqa:val2014": (52, 0, 0, {}),
                   "snli_ve:train": (21, 0, 0, dash), "snli_ve:dev": (9, 0, 0, dash),
                   "snli_ve:test": (30, 0, 0, dash), "vcr:train": (3, 0, 0, {}),
                   "vcr:val": (10, 0, 0, {})}


def test_evaluated_splits_hold_every_file_variant_in_their_first_rows(sets):
    """data.limit = 13 / 5 / 5 rows of the evaluated splits cover gray, CMYK, EXIF, large."""
    need = {"gray", "cmyk", "large"}
    for task, name, split, limit in (("vqa", "vqav2", "val2014", 13),
                                     ("snli_ve", "snli_ve", "test", 5),
                                     ("vcr", "vcr", "val", 5)):
        rows, _ = read_task_report(task, sets[name]["root"], split)
        modes = {sets[name]["images"][r["image_path"]]["mode"] for r in rows[:limit]}
        assert need <= modes and modes & {"exif6", "exif8"}, (task, modes)
        assert len({r["image_path"] for r in rows[:limit]}) == limit


def test_file_variants_are_what_they_claim(sets):
    images = {**{f"vqav2/{k}": v for k, v in sets["vqav2"]["images"].items()},
              **{f"vcr/{k}": v for k, v in sets["vcr"]["images"].items()}}
    seen = set()
    for rel, info in images.items():
        ds, sub = rel.split("/", 1)
        with Image.open(f"{sets[ds]['root']}/{sub}") as im:
            assert im.format == "JPEG"
            orient = im.getexif().get(EXIF_ORIENTATION)
            mode, stored = im.mode, im.size
        want = {"gray": ("L", None), "cmyk": ("CMYK", None), "exif6": ("RGB", 6),
                "exif8": ("RGB", 8), "jpeg": ("RGB", None), "large": ("RGB", None)}
        if info["mode"] in want:
            assert (mode, orient) == want[info["mode"]], rel
        if info["mode"].startswith("exif"):
            assert stored == tuple(info["size"][::-1])  # stored sideways
        if info["mode"] == "large":
            assert max(info["size"]) == 4000
        seen.add(info["mode"])
    assert seen == {"jpeg", "copy", "gray", "cmyk", "exif6", "exif8", "large"}


@pytest.mark.parametrize("name", ["chelsea", "motorcycle", "coffee", "camera"])
def test_load_rgb_gives_the_upright_photo(sets, name):
    """EXIF 6 / 8, CMYK and gray files decode to the shipped photo (JPEG error only)."""
    root = sets["vcr"]["root"]
    rel = next(k for k, v in sets["vcr"]["images"].items() if v["photo"] == name)
    got = np.asarray(load_rgb(root, rel), np.float32)
    want = load_photo(name).astype(np.float32)
    want = want if want.ndim == 3 else np.repeat(want[..., None], 3, axis=2)
    assert got.shape == want.shape
    assert np.abs(got - want).mean() < 4.0  # a sideways or colour-inverted read is ≥ 30


def test_vcr_boxes_are_in_the_upright_image(sets):
    root = sets["vcr"]["root"]
    for rel, info in sets["vcr"]["images"].items():
        meta = json.loads(Path(f"{root}/{rel[:-4]}.json").read_text())
        w, h = load_rgb(root, rel).size
        assert (meta["width"], meta["height"]) == (w, h) == tuple(info["size"])
        for x1, y1, x2, y2, _ in meta["boxes"]:
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h, rel
    meta = Path(root) / "vcr1images/lsmdc_9000_Sample_Photographs/hopper@0.json"
    hopper = json.loads(meta.read_text())
    # the shipped photo is 512 x 600 with its person at [60, 20, 512, 600]; large: 3413 x 4000
    assert hopper["boxes"][0][:4] == [400.0, 133.3, 3413.0, 4000.0]


def test_vqa_annotations_follow_the_official_format(sets):
    root = sets["vqav2"]["root"]
    anns = json.loads(Path(f"{root}/v2_mscoco_val2014_annotations.json").read_text())["annotations"]
    qs = json.loads(Path(f"{root}/v2_OpenEnded_mscoco_val2014_questions.json").read_text())
    assert [q["question_id"] for q in qs["questions"]] == [a["question_id"] for a in anns]
    assert all(len(a["answers"]) == 10 for a in anns)
    assert {a["answer_type"] for a in anns} == {"yes/no", "number", "other"}
    first = anns[0]
    assert (first["question_type"], first["multiple_choice_answer"]) == ("what color is the",
                                                                        "black")
    assert len(PHOTOS) == 13 and len({a["image_id"] for a in anns}) == 13


def test_question_type_is_the_longest_official_prefix():
    assert question_type("How many people are in the photo?") == "how many people are in"
    assert question_type("What color is the cup?") == "what color is the"
    assert question_type("Is this a dog?") == "is this a"
    assert question_type("Whose cat is it?") == "none of the above"


def test_round_robin_interleaves_groups():
    assert round_robin([[1, 2, 3], [4], [5, 6]]) == [1, 4, 5, 2, 6, 3]
    assert round_robin([]) == []
