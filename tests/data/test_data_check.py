"""fgalign data check: official layouts (the photo sets) and a synthetic world, each with one
file removed; the check ``fgalign run`` makes before any stage."""
import json
import shutil
from pathlib import Path

import pytest

from fgalign.data.check import DataLayoutError, check_layout, check_run_data
from fgalign.experiment.plan import run_splits
from fgalign.load import load_config

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "demo.yaml")
# (photo set, task, split, file named by the split's reader)
LAYOUTS = [("vqav2", "vqa", "val2014", "v2_OpenEnded_mscoco_val2014_questions.json"),
           ("snli_ve", "snli_ve", "test", "snli_ve_test.jsonl"),
           ("vcr", "vcr", "val", "val.jsonl")]


def check_run(cfg):
    """``check_run_data`` on the splits a run of ``cfg`` reads (as the commands call it)."""
    check_run_data(cfg, run_splits(cfg))


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    pytest.importorskip("skimage", reason="photo sets need scikit-image (the dev extra)")
    from fgalign.data.photo_sets import make_photo_sets

    return make_photo_sets(tmp_path_factory.mktemp("check-photos"), large_side=600)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from fgalign.data.synth import generate_world

    root = tmp_path_factory.mktemp("check-world") / "w"
    generate_world(root, seed=3, images=20, image_size=48, progress=False)
    return root


def copy_of(sets, name, tmp_path) -> Path:
    return Path(shutil.copytree(sets[name]["root"], tmp_path / name))


@pytest.mark.parametrize("name, task, split, listing", LAYOUTS)
def test_complete_official_layout_is_ok(sets, name, task, split, listing):
    rep = check_layout(task, sets[name]["root"], split)
    assert rep.ok and rep.layout == "official", rep.format()
    assert listing in rep.checked
    assert any("the official" in n and "a subset is fine" in n for n in rep.notes)


@pytest.mark.parametrize("name, task, split, listing", LAYOUTS)
def test_one_file_removed_is_reported_with_the_download(sets, tmp_path, capsys, name, task,
                                                        split, listing):
    from fgalign.cli import main

    root = copy_of(sets, name, tmp_path)
    (root / listing).unlink()
    rep = check_layout(task, root, split)
    assert not rep.ok and any(m.startswith(f"file {listing}") for m in rep.missing)
    assert main(["data", "check", "--task", task, "--root", str(root), "--split", split]) == 1
    out = capsys.readouterr().out
    assert f"MISSING  file {listing}" in out and "download " in out and "https://" in out


@pytest.mark.parametrize("name, task, split, listing", LAYOUTS)
def test_one_image_removed_is_named(sets, tmp_path, name, task, split, listing):
    from fgalign.tasks import read_split

    root = copy_of(sets, name, tmp_path)
    image = read_split(task, root, split)[0][0]["image_path"]
    (root / image).unlink()
    rep = check_layout(task, root, split)
    assert not rep.ok and any(m.startswith("1 of ") and image in m for m in rep.missing)


def test_vcr_metadata_removed(sets, tmp_path):
    root = copy_of(sets, "vcr", tmp_path)
    next((root / "vcr1images").rglob("*.json")).unlink()
    rep = check_layout("vcr", root, "val")
    assert any(m.startswith("the metadata file of ") for m in rep.missing), rep.format()


def test_vqa_annotations_required_except_on_test_splits(sets, tmp_path):
    root = copy_of(sets, "vqav2", tmp_path)
    (root / "v2_mscoco_val2014_annotations.json").unlink()
    rep = check_layout("vqa", root, "val2014")
    assert [m.split(" (")[0] for m in rep.missing] == ["file v2_mscoco_val2014_annotations.json"]
    assert check_layout("vqa", root, "val2014", full=False).ok  # a run reads it unlabelled


def test_test_dev_points_at_the_test2015_images(tmp_path):
    (tmp_path / "v2_OpenEnded_mscoco_test-dev2015_questions.json").write_text(
        json.dumps({"questions": [{"question_id": 1, "image_id": 1, "question": "What?"}]}))
    rep = check_layout("vqa", tmp_path, "test-dev2015")
    assert "image folder test-dev2015/" in rep.missing
    assert any("test2015 images" in n for n in rep.notes)


@pytest.mark.parametrize("task, listing", [("vqa", "v2_OpenEnded_mscoco_test_questions.json"),
                                           ("snli_ve", "snli_ve_test.jsonl"),
                                           ("vcr", "test.jsonl")])
def test_world_with_one_file_removed(world, tmp_path, task, listing):
    assert check_layout(task, world, "test").ok
    root = Path(shutil.copytree(world, tmp_path / "w"))
    (root / listing).unlink()
    rep = check_layout(task, root, "test")
    assert rep.layout == "synthetic world"
    assert any(m.startswith(f"file {listing}") for m in rep.missing)
    assert any(m.startswith("checksum:") for m in rep.missing)


def test_world_counts_and_images(world, tmp_path):
    root = Path(shutil.copytree(world, tmp_path / "w"))
    lines = (root / "snli_ve_test.jsonl").read_text().splitlines(keepends=True)
    (root / "snli_ve_test.jsonl").write_text("".join(lines[1:]))
    rep = check_layout("snli_ve", root, "test")
    assert any("of the world's" in m and "world.json counts" in m for m in rep.missing)


def test_run_stops_before_any_stage(sets, tmp_path, capsys):
    from fgalign.cli import main

    root = copy_of(sets, "snli_ve", tmp_path)
    (root / "snli_ve_train.jsonl").unlink()
    over = [f"data.root={root}", "data.tasks=[snli_ve]", "data.synth.generate=false",
            "data.val_split=dev", f"experiment.output_dir={tmp_path / 'runs'}"]
    with pytest.raises(DataLayoutError, match="snli_ve train: missing file snli_ve_train.jsonl"):
        check_run(load_config(CONFIG, over))
    argv = ["run", "--config", CONFIG, "--no-wandb"] + [a for o in over for a in ("--set", o)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fgalign data check --task snli_ve" in err
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_run_check_passes_complete_roots_and_roots_a_run_generates(world, sets, tmp_path):
    check_run(load_config(CONFIG, [f"data.root={world}"]))
    check_run(load_config(CONFIG, [f"data.root={tmp_path / 'generated-by-the-run'}"]))
    vqav2 = CONFIG.replace("demo.yaml", "vqav2.yaml")  # the official layout's folders
    check_run(load_config(vqav2, [f"data.root={sets['vqav2']['root']}"]))
    with pytest.raises(DataLayoutError, match="does not exist"):
        check_run(load_config(CONFIG, [f"data.root={tmp_path / 'absent'}",
                                            "data.synth.generate=false"]))


def test_without_split_checks_the_official_splits_present(sets, capsys):
    from fgalign.cli import main

    assert main(["data", "check", "--task", "vqa", "--root", str(sets["vqav2"]["root"])]) == 0
    out = capsys.readouterr().out
    assert "vqa train2014 at" in out and "vqa val2014 at" in out
    assert "not downloaded (not checked; --split S checks one): test2015, test-dev2015" in out


def test_missing_root_reports_every_official_split(tmp_path, capsys):
    from fgalign.cli import main

    assert main(["data", "check", "--task", "vcr", "--root", str(tmp_path / "none"), "--json"]) == 1
    got = json.loads(capsys.readouterr().out)
    assert [r["split"] for r in got] == ["train", "val", "test"]
    assert all(r["missing"] == [f"dataset root {tmp_path / 'none'}/"] for r in got)
    assert "visualcommonsense.com" in got[0]["source"]


def test_world_without_its_vqa_answers_is_reported(world, tmp_path):
    """A world labels every split: ``data check`` names a missing annotations file, also on
    the test split; a run reads that split as unlabelled ("no labels"), as an official one."""
    root = Path(shutil.copytree(world, tmp_path / "w"))
    (root / "v2_mscoco_test_annotations.json").unlink()
    rep = check_layout("vqa", root, "test")
    assert any(m.startswith("file v2_mscoco_test_annotations.json") for m in rep.missing)
    assert check_layout("vqa", root, "test", full=False).ok
    check_run(load_config(CONFIG, [f"data.root={root}", "data.tasks=[vqa]"]))
