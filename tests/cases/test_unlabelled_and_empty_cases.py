"""Cases ``vqa-test-dev-no-answers`` and ``empty-split`` in both paths, and an unlabelled test
split of every task (a tiny synthetic world with its test labels removed) in both paths."""
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
EMPTY = "split test of snli_ve has no usable rows: 3 skipped for gold_label '-'"


def check_report_says_no_labels(run_dir, task):
    """report.md's section of ``task`` says "no labels" and prints no score (the config part of
    the report may hold numbers like 0.0001, so only the task's section is read)."""
    task_part = (run_dir / "report.md").read_text().split(f"## {task}")[1].split("## ")[0]
    assert "no labels in this split" in task_part and "0.0" not in task_part, task


def check_no_answers(run_dir, out):
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]["vqa"]
    assert m == {"split": "test-dev2015", "n": 2, "labels": False, "errors": {},
                 "variants": {}, "delta": {}}
    results = json.loads((run_dir / "vqa_results.json").read_text())
    assert [r["question_id"] for r in results] == [1, 2] and all(r["answer"] for r in results)
    preds = pq.read_table(run_dir / "predictions.parquet").to_pylist()
    assert len(preds) == 2 and all(p["credit_fusion"] is None for p in preds)
    assert "0.00" not in out and "no labels in split test-dev2015: 2 rows predicted" in out


def test_vqa_test_dev_without_answers(run_case, capsys):
    """In-process only: the Ray path of a split without labels (every task, VQA's without its
    annotations file as here) is ``test_unlabelled_test_split_of_every_task[run]``; the stages
    and the finalize code are the same in both paths."""
    code, run_dir = run_case("evaluate", "vqa-test-dev-no-answers")
    assert code == 0
    check_no_answers(run_dir, capsys.readouterr().out)
    check_report_says_no_labels(run_dir, "vqa")


@pytest.mark.parametrize("command", ["evaluate", pytest.param("run", marks=pytest.mark.ray)])
def test_empty_split_is_named_not_scored(request, run_case, capsys, command):
    if command == "run":
        request.getfixturevalue("ray_session")
    code, run_dir = run_case(command, "empty-split")
    assert code == 1  # the only task was skipped: nothing evaluated
    cap = capsys.readouterr()
    assert f"fgalign: task snli_ve skipped: {EMPTY}" in cap.err
    assert f"snli_ve  skipped: {EMPTY}" in cap.out and "0.00" not in cap.out
    m = json.loads((run_dir / "metrics.json").read_text())["tasks"]
    assert m == {"snli_ve": {"split": "test", "n": 0, "skipped": EMPTY}}


@pytest.fixture(scope="module")
def unlabelled_world(tmp_path_factory):
    """A 30-scene world whose test split has no labels in any task (as the official test sets)."""
    from fgalign.data.synth import generate_world

    root = tmp_path_factory.mktemp("unlabelled") / "world"
    generate_world(root, seed=5, images=30, image_size=64, progress=False)
    (root / "v2_mscoco_test_annotations.json").unlink()  # VQA test: questions only
    for name, keys in (("snli_ve_test.jsonl", ("gold_label",)),
                       ("test.jsonl", ("answer_label", "rationale_label"))):
        lines = [json.loads(x) for x in (root / name).read_text().splitlines()]
        (root / name).write_text("".join(json.dumps({k: v for k, v in o.items() if k not in keys})
                                         + "\n" for o in lines))
    return root


@pytest.mark.parametrize("command", ["evaluate", pytest.param("run", marks=pytest.mark.ray)])
def test_unlabelled_test_split_of_every_task(request, unlabelled_world, tmp_path, monkeypatch,
                                             capsys, command):
    from fgalign.cli import main

    if command == "run":
        request.getfixturevalue("ray_session")
    monkeypatch.chdir(REPO)
    argv = [command, "--config", "configs/demo.yaml"]
    for s in (f"data.root={unlabelled_world}", "data.synth.generate=false", "data.limit=5",
              "model.name=test-tiny", "keywords.extractor=rule", "tasks.vqa.val_limit=6",
              "tasks.vqa.yes_no=statements",  # no VQA calibration run: not what this tests
              "tasks.snli_ve.train_limit=30", "tasks.snli_ve.val_limit=12",
              "tasks.snli_ve.steps=10", "logging.figures=0", "logging.wandb=false",
              f"experiment.output_dir={tmp_path}"):
        argv += ["--set", s]
    assert main(argv + (["--no-wandb"] if command == "run" else [])) == 0
    out = capsys.readouterr().out
    assert "0.00" not in out
    run_dir = next(tmp_path.glob("demo/[0-9a-f]*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())["tasks"]
    for task in ("vqa", "snli_ve", "vcr"):
        m = metrics[task]
        assert (m["labels"], m["n"], m["variants"], m["delta"]) == (False, 5, {}, {}), task
        assert f"{task:8} no labels in split test: 5 rows predicted" in out
    preds = pq.read_table(run_dir / "predictions.parquet").to_pylist()
    assert len(preds) == 15 and all(p["credit_fusion"] is None for p in preds)
    assert sum(p["pred_fusion"] >= 0 for p in preds) == 15 - sum(bool(p["error"]) for p in preds)
    assert len(json.loads((run_dir / "vqa_results.json").read_text())) == 5
    for task in ("vqa", "snli_ve", "vcr"):
        check_report_says_no_labels(run_dir, task)
