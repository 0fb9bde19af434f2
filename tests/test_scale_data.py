"""The real-scale generator (fgalign.bench.scale_data) and the work counters (fgalign.counters).

Exact counts on a tiny instance, read back through the dataset readers; the VQAv2 answer-type
mix on a larger one; byte-identical output for the same spec.
"""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from fgalign.bench.scale_data import (
    ScaleSpec,
    answer_vocab,
    generate_scale_data,
    human_answers,
    question_types,
    spread,
)
from fgalign.tasks import read_task

TINY = ScaleSpec(scale=2, vocab=40, vqa_images=3, snli_ve_images=1, vcr_images=3, image_size=32,
                 train_questions=60, snli_ve_train_images=1, snli_ve_dev_images=1,
                 vcr_train_images=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    return root, generate_scale_data(root, TINY)


def test_spread_and_vocabulary_sizes():
    assert spread(32, 6) == [6, 6, 5, 5, 5, 5] and sum(spread(214_354, 40_504)) == 214_354
    assert {k: len(v) for k, v in answer_vocab(3129).items()} == {
        "yes/no": 2, "number": 94, "color": 14, "other": 3019}
    assert len({a for v in answer_vocab(3129).values() for a in v}) == 3129  # no duplicates
    assert {k: len(v) for k, v in question_types().items()} == {
        "yes/no": 28, "number": 4, "color": 5, "other": 27}  # the 64 official types
    with pytest.raises(ValueError, match="vocab must be"):
        answer_vocab(4)


def test_vqa_counts_and_layout(tiny):
    root, stats = tiny
    val = read_task("vqa", root, "val2014")
    # 2 × 3 images, round(5.29 × 6) = 32 questions spread 6, 6, 5, 5, 5, 5
    assert stats["vqa"]["val2014"]["images"] == 6 and len(val) == 32
    assert sorted(Counter(r["image_id"] for r in val).values(), reverse=True) == [6, 6, 5, 5, 5, 5]
    assert not any(r["error"] for r in val)
    assert all((root / r["image_path"]).is_file() for r in val)  # val2014/COCO_val2014_*.jpg
    assert all(len(r["target"]) == 10 for r in val)
    assert sum(stats["vqa"]["val2014"]["answer_types"].values()) == 32
    types = question_types()
    for r in val:
        group = next(g for g, ts in types.items() if r["question_type"] in ts)
        assert r["answer_type"] == ("other" if group == "color" else group)


def test_vqa_train_covers_the_vocabulary_with_true_majorities(tiny):
    from fgalign.tasks.vqa.answers import majority_answer, prepare_vqa

    root, stats = tiny
    train = read_task("vqa", root, "train2014")
    assert len(train) == 60 and stats["vqa"]["train2014"]["distinct_answers"] == 40
    vocab = prepare_vqa(train, 40)["answer_vocab"]
    assert sorted(vocab) == sorted(a for v in answer_vocab(40).values() for a in v)
    anns = json.loads((root / "v2_mscoco_train2014_annotations.json").read_text())["annotations"]
    assert all(majority_answer([a["answer"] for a in x["answers"]]) == x["multiple_choice_answer"]
               for x in anns)


def test_human_answers_disagree_but_keep_the_majority():
    rng = np.random.default_rng(0)
    pool = [str(i) for i in range(20)]
    runs = [human_answers("3", pool, rng) for _ in range(200)]
    agree = [sum(a in ("3", "three") for a in r) for r in runs]
    assert all(len(r) == 10 for r in runs) and min(agree) >= 5 and max(agree) == 10
    assert any(a < 10 for a in agree)  # real disagreement
    yn = [human_answers("yes", ["yes", "no"], rng) for _ in range(100)]
    assert min(sum(a.lower() == "yes" for a in r) for r in yn) >= 6


def test_vqa_answer_type_mix(tmp_path):
    from fgalign.bench.scale_data import write_vqa

    st = write_vqa(tmp_path, ScaleSpec(vocab=3129, image_size=16), "val2014", 100, None, False)
    n = st["questions"]
    assert n == round(5.292 * 100)
    share = {k: v / n for k, v in st["answer_types"].items()}
    assert share == pytest.approx({"yes/no": 0.38, "number": 0.12, "other": 0.50}, abs=0.05)


def test_snli_ve_and_vcr_counts(tiny):
    root, stats = tiny
    test = read_task("snli_ve", root, "test")
    assert len(test) == 36 and not any(r["error"] for r in test)  # 2 images × 6 premises × 3
    assert Counter(r["target"] for r in test) == {0: 12, 1: 12, 2: 12}
    assert set(Counter(r["image_path"] for r in test).values()) == {18}
    val = read_task("vcr", root, "val")
    assert len(val) == 16 == stats["vcr"]["val"]["questions"]  # round(2.67 × 6), 2 or 3 each
    assert sorted(Counter(r["image_path"] for r in val).values()) == [2, 2, 3, 3, 3, 3]
    for r in val:
        assert not r["error"] and len(r["candidates"]) == 4 and len(r["rationales"]) == 4
        assert len(r["given_boxes"]) == len(r["object_names"]) and r["text_refs"]
        assert 0 <= r["target"] < 4 and 0 <= r["rationale_label"] < 4


def test_same_spec_same_bytes(tmp_path):
    small = ScaleSpec(scale=1, vocab=12, vqa_images=1, snli_ve_images=1, vcr_images=1,
                      image_size=16, train_questions=12, snli_ve_train_images=1,
                      snli_ve_dev_images=1, vcr_train_images=1)
    a, b = tmp_path / "a", tmp_path / "b"
    generate_scale_data(a, small)
    generate_scale_data(b, small)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_counters_record_processes_and_distinct_images(tmp_path, monkeypatch):
    from fgalign import counters
    from fgalign.models import create_backbone
    from fgalign.regions import create_proposer

    monkeypatch.setenv(counters.ENV, str(tmp_path))
    proposer = create_proposer("segment", max_regions=4)
    img = np.full((32, 32, 3), 230, np.uint8)
    img[4:14, 4:14] = (220, 30, 30)
    other = img.copy()
    other[20:30, 20:30] = (30, 30, 220)
    for x in (img, img, other):
        proposer(x)
    bb = create_backbone("test-tiny")
    from PIL import Image

    bb.encode_images([Image.fromarray(img)] * 3)
    bb.encode_texts(["a", "b"])
    s = counters.summarize(tmp_path, driver_pid=__import__("os").getpid())
    assert s["kinds"]["proposer"]["calls"] == 3
    assert s["proposer"] == {"distinct_images": 2, "regions_of_distinct": 1 + 2}
    assert s["kinds"]["image_encoder"]["n"] == 3 and s["kinds"]["text_encoder"]["n"] == 2
    assert s["builds"] == {"proposer:segment": 1, "backbone:test-tiny": 1}
    assert s["driver"]["build"]["calls"] == 2 and s["processes"] == 1


def test_counters_are_off_without_the_variable(tmp_path, monkeypatch):
    from fgalign import counters
    from fgalign.regions import create_proposer

    monkeypatch.delenv(counters.ENV, raising=False)
    assert type(create_proposer("segment")).__name__ != "CountedProposer"
    counters.count("x")
    assert not list(tmp_path.iterdir())


def test_covering_questions_do_not_bunch_at_the_start(tmp_path):
    from fgalign.bench.scale_data import write_vqa

    spec = ScaleSpec(vocab=300, image_size=16)
    write_vqa(tmp_path, spec, "train2014", 0, 600, True)
    anns = json.loads((tmp_path / "v2_mscoco_train2014_annotations.json").read_text())
    first = [a["answer_type"] for a in anns["annotations"][:200]]
    assert 0.28 < first.count("yes/no") / 200 < 0.48  # a calibration subset sees yes/no questions
