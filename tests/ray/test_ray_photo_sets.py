"""configs/vqav2.yaml through ``fgalign run`` (Ray) on the real-photo VQAv2 set.

test-tiny + torchvision Faster R-CNN at random weights, first 13 val2014 questions (one per
photo: every file variant). Issue 11: the driver runs no model: the run happens inside
``forbid_models`` (fgalign's CLIP factories refuse in the driver process) with the detector
patched to count its calls in the driver; the Ray actors, other processes, build both.
"""
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("skimage", reason="photo sets need scikit-image (the dev extra)")
sys.path.insert(0, str(Path(__file__).parents[1] / "photo_sets"))  # the shared helpers

from photo_runs import count_detector_calls, overrides, read_outputs, run_folder

from fgalign.cli import main
from fgalign.models import forbid_models

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
# the config's stages ask for 2-4 CPUs and a GPU per actor; the test cluster has 2 CPUs
STAGES = ("ray.stages={" + ", ".join(
    f"{s}: {{num_cpus: 0.25, num_gpus: 0, concurrency: 1, batch_size: 8}}"
    for s in ("regions", "images", "candidates", "keywords", "embed", "score")) + "}")


@pytest.fixture(scope="module")
def ray_vqa_run(ray_session, photo_sets, tmp_path_factory):
    root = Path(photo_sets["vqav2"]["root"])  # the session's sets (tests/conftest.py), read only
    out = tmp_path_factory.mktemp("runs")
    with count_detector_calls() as driver_calls, forbid_models("the driver builds no model"):
        rc = main(["run", "--config", str(ROOT / "configs/vqav2.yaml"), "--no-wandb",
                   *overrides(root, out, 13, "tasks.vqa.val_limit=26", "ray.address=null",
                              "ray.progress=false", STAGES)])
    assert rc == 0
    return root, run_folder(out, "vqav2"), driver_calls


def test_ray_vqav2_run_writes_official_outputs(ray_vqa_run):
    root, folder, _ = ray_vqa_run
    metrics, preds = read_outputs(folder)
    m = metrics["tasks"]["vqa"]
    assert (m["split"], m["n"], m["errors"]) == ("val2014", 13, {})
    qs = json.loads((root / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())
    results = json.loads((folder / "vqa_results.json").read_text())
    assert sorted(r["question_id"] for r in results) == sorted(q["question_id"]
                                                               for q in qs["questions"][:13])
    assert all(set(r) == {"question_id", "answer"} and r["answer"] for r in results)
    assert len(preds) == 13 and all(p["error"] == "" for p in preds)


def test_driver_runs_no_detector(ray_vqa_run):
    _, _, driver_calls = ray_vqa_run
    print(f"driver detector calls {driver_calls.n} on {driver_calls.distinct} distinct images")
    assert driver_calls.n == 0
