"""Adding a task is one module (tests/tasks/yes_no_task.py): it runs through the whole graph."""
import subprocess

import pytest
from yes_no_task import NAME, YesNoVQA  # registers the task (tests/tasks is on sys.path)

from fgalign.config import ConfigError, build_config
from fgalign.data.synth import DATA_PATHS, ensure_world
from fgalign.evaluate import evaluate
from fgalign.tasks import get_task, read_task, task_names

pytestmark = pytest.mark.slow


def _cfg(root, out, tasks):
    return build_config({
        "data": {"root": str(root), "limit": 12, "tasks": tasks, **DATA_PATHS,
                 "synth": {"generate": True, "seed": 3, "images": 30, "image_size": 64}},
        "model": {"name": "test-tiny", "batch_size": 16},
        "tasks": {"vqa": {"yes_no": "statements"}},
        "adapt": {"bootstrap": 50}, "logging": {"wandb": False},
        "experiment": {"output_dir": str(out)},
    })


def test_the_task_is_registered_and_validated_by_name():
    assert NAME in task_names() and isinstance(get_task(NAME), YesNoVQA)
    assert task_names()[:3] == ["vqa", "snli_ve", "vcr"]
    with pytest.raises(ConfigError, match=r"unknown task 'vqa_yes_nope'; known: vqa, snli_ve, "
                                          r"vcr, .*vqa_yes_no"):
        _cfg("/nonexistent", "/tmp", ["vqa_yes_nope"])


def test_a_new_task_runs_through_the_stage_graph(tmp_path):
    cfg = _cfg(tmp_path / "w", tmp_path / "runs", [NAME])
    ensure_world(cfg.data.root, cfg.data.synth)
    rows = read_task(NAME, cfg.data.root, "test")
    vqa = read_task("vqa", cfg.data.root, "test")
    yes_no = [r for r in vqa if r["text"].split()[0].lower() in ("is", "are", "does", "do")]
    assert 0 < len(rows) < len(vqa) and len(rows) >= len(yes_no)
    assert all(r["uid"].startswith(f"{NAME}:test:") and r["candidates"] == ["yes", "no"]
               for r in rows)

    metrics = evaluate(cfg, figures=False)
    m = metrics["tasks"][NAME]
    assert m["n"] == min(12, len(rows)) and m["labels"] and m["errors"] == {}
    assert set(m["variants"]) == {"prior", "global", "global+region_word",
                                  "global+region_sentence", "global+tag_text", "fusion"}
    for e in m["variants"].values():  # accuracy over two choices: a multiple of 100 / n
        assert 0 <= e["score"] <= 100 and abs(e["score"] * m["n"] / 100
                                              - round(e["score"] * m["n"] / 100)) < 0.01
    assert "fusion_vs_global" in m["delta"]
    from pathlib import Path

    import pandas as pd
    preds = pd.read_parquet(Path(metrics["run_dir"]) / "predictions.parquet")
    assert len(preds) == m["n"] and set(preds.task) == {NAME}
    assert set(preds.pred_fusion) <= {0, 1}
    assert not (Path(metrics["run_dir"]) / "vqa_results.json").exists()


def test_no_module_outside_fgalign_tasks_names_a_task():
    """``task == "..."`` branches live in fgalign/tasks/ only (issue 13)."""
    out = subprocess.run(
        ["git", "grep", "-nE", r"""(task|target) *(==|!=) *["'](vqa|snli_ve|vcr)["']""",
         "--", "fgalign", ":!fgalign/tasks"], capture_output=True, text=True, check=False)
    assert out.returncode == 1 and out.stdout == "", out.stdout  # git grep: 1 = no match
