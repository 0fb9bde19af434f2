"""configs/{vqav2,snli_ve,vcr}.yaml end to end (``fgalign evaluate``) on the real-photo sets.

test-tiny + torchvision Faster R-CNN at random weights; the first rows of each evaluated split
cover every file variant (JPEG, shipped JPEG, gray, CMYK, EXIF 6/8, 4000 px). Issue 11 asks
that each image be proposed once: ``test_each_image_is_proposed_once`` records today's count.
"""
import json
from pathlib import Path

import pytest

pytest.importorskip("skimage", reason="photo sets need scikit-image (the dev extra)")

from photo_runs import count_detector_calls, overrides, read_outputs, run_folder

from fgalign.cli import main

pytestmark = pytest.mark.slow

# issue 20: the default fusion holds count / size / relation (fgalign.align.compose); each run
# below scores them on the photos' detector boxes and must give no error row (errors == {})
COMPOSE_VARIANTS = {"global+count", "global+size", "global+relation"}


@pytest.fixture(scope="module")
def sets(photo_sets):
    """The session's photo sets (tests/conftest.py), read only: runs write under tmp dirs."""
    return photo_sets


@pytest.fixture(scope="module")
def vqa_run(sets, tmp_path_factory):
    """configs/vqav2.yaml, first 26 val2014 questions (2 per photo), yes/no thresholds fitted on
    the first 13 train2014 questions (val_split = train2014 in the config; 2 are yes/no)."""
    out = tmp_path_factory.mktemp("runs")
    with count_detector_calls() as calls:
        rc = main(["evaluate", "--config", "configs/vqav2.yaml", "--no-figures",
                   *overrides(sets["vqav2"]["root"], out, 26, "tasks.vqa.val_limit=13")])
    assert rc == 0
    return run_folder(out, "vqav2"), calls


def test_vqav2_evaluate_writes_official_outputs(vqa_run, sets):
    folder, _ = vqa_run
    metrics, preds = read_outputs(folder)
    m = metrics["tasks"]["vqa"]
    assert (m["split"], m["n"], m["errors"]) == ("val2014", 26, {})
    root = sets["vqav2"]["root"]
    qs = json.loads(Path(f"{root}/v2_OpenEnded_mscoco_val2014_questions.json").read_text())
    want_ids = [q["question_id"] for q in qs["questions"][:26]]
    results = json.loads((folder / "vqa_results.json").read_text())
    assert [r["question_id"] for r in results] == want_ids
    assert all(set(r) == {"question_id", "answer"} and isinstance(r["answer"], str)
               and r["answer"] for r in results)
    assert len(preds) == 26 and all(p["error"] == "" for p in preds)
    assert set(m["variants"]) >= {"prior", "global", "fusion"} | COMPOSE_VARIANTS
    assert set(m["variants"]["fusion"]["perAnswerType"]) <= {"yes/no", "number", "other"}


def test_each_image_is_proposed_once(vqa_run):
    """26 val2014 rows on 13 images + 2 yes/no calibration rows of train2014 on 2 images."""
    _, calls = vqa_run
    print(f"detector calls {calls.n}, distinct images {calls.distinct}")
    assert calls.distinct == 15
    assert calls.n == calls.distinct  # before the image store: 28 (once per row)


def test_snli_ve_evaluate(sets, tmp_path):
    with count_detector_calls() as calls:
        rc = main(["evaluate", "--config", "configs/snli_ve.yaml", "--no-figures",
                   *overrides(sets["snli_ve"]["root"], tmp_path, 5,
                              "tasks.snli_ve.val_limit=9")])
    assert rc == 0
    metrics, preds = read_outputs(run_folder(tmp_path, "snli_ve"))
    m = metrics["tasks"]["snli_ve"]
    assert (m["split"], m["n"], m["errors"], m["protocol"]) == ("test", 5, {}, "text_only")
    assert len(preds) == 5 and all(p["error"] == "" for p in preds)
    assert set(m["variants"]["fusion"]["per_class"]) == {"entailment", "neutral",
                                                         "contradiction"}
    assert set(m["variants"]) >= COMPOSE_VARIANTS
    assert calls.n == calls.distinct  # once per distinct image of the dev and test rows


def test_vcr_evaluate(sets, tmp_path):
    """VCR regions are the metadata boxes (tasks.vcr.proposer=dataset): no detector runs."""
    with count_detector_calls() as calls:
        rc = main(["evaluate", "--config", "configs/vcr.yaml", "--no-figures",
                   *overrides(sets["vcr"]["root"], tmp_path, 5)])
    assert rc == 0
    metrics, preds = read_outputs(run_folder(tmp_path, "vcr"))
    m = metrics["tasks"]["vcr"]
    assert (m["split"], m["n"], m["errors"]) == ("val", 5, {})
    assert set(m["variants"]["fusion"]) >= {"q2a", "qa2r", "q2ar"}
    assert set(m["variants"]) >= COMPOSE_VARIANTS
    assert len(preds) == 5 and all(p["error"] == "" for p in preds)
    assert calls.n == 0
