"""Adding a task is one module (tests/tasks/yes_no_task.py): it runs through the whole graph."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from yes_no_task import NAME, YesNoVQA  # registers the task (tests/tasks is on sys.path)

from fgalign.config import ConfigError
from fgalign.data.synth import DATA_PATHS, ensure_world
from fgalign.experiment.evaluate import evaluate
from fgalign.load import build_config
from fgalign.tasks import Task, get_task, read_task, register_task, task_names

pytestmark = pytest.mark.slow


def _cfg(root, out, tasks):
    return build_config({
        "data": {"root": str(root), "limit": 12, "tasks": tasks, **DATA_PATHS,
                 "task_modules": ["yes_no_task"],
                 "synth": {"generate": True, "seed": 3, "images": 30, "image_size": 64}},
        "model": {"name": "test-tiny", "batch_size": 16},
        "tasks": {"vqa": {"yes_no": "statements"}},
        "adapt": {"bootstrap": 50}, "logging": {"wandb": False},
        "experiment": {"output_dir": str(out)},
    })


def test_the_task_is_registered_and_validated_by_name():
    assert NAME in task_names() and isinstance(get_task(NAME), YesNoVQA)
    assert task_names()[:3] == ["vqa", "snli_ve", "vcr"]
    with pytest.raises(ConfigError, match=r"unknown task 'vqa_yes_nope' \(did you mean "
                                          r"'vqa_yes_no'\?\); known: vqa, snli_ve, "
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
                                  "global+region_sentence", "global+tag_text", "global+count",
                                  "global+size", "global+relation", "fusion"}
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
    """Task names appear in comparisons, membership tests and call arguments only inside
    fgalign/tasks/ (issue 13); the data readers and the benchmark's dataset shapes are per
    dataset format by nature, and docstrings / defaults are not behaviour."""
    import ast

    lib = Path(__file__).parents[2] / "fgalign"
    names = {"vqa", "snli_ve", "vcr"}
    found = []
    for path in sorted(lib.rglob("*.py")):
        rel = path.relative_to(lib).as_posix()
        if rel.startswith(("tasks/", "data/", "bench/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            consts = []
            if isinstance(node, ast.Compare):
                consts = [node.left, *node.comparators]
            elif isinstance(node, ast.Call):
                consts = [*node.args, *(k.value for k in node.keywords)]
            found += [f"{rel}:{node.lineno}" for c in consts
                      if isinstance(c, ast.Constant) and c.value in names]
    assert found == [], found


def test_a_config_alone_registers_its_tasks(tmp_path):
    """``data.task_modules`` imports the module that registers the task (a fresh process,
    as ``fgalign evaluate --set 'data.task_modules=[...]'`` or a Ray worker starts)."""
    code = ("from fgalign.load import build_config\n"
            "cfg = build_config({'data': {'task_modules': ['yes_no_task'], "
            "'tasks': ['vqa_yes_no', 'vqa']}})\n"
            "print(cfg.data.tasks)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.strip() == "['vqa_yes_no', 'vqa']"


@pytest.mark.parametrize("body, why", [
    ("name = 'vqa'\n    fields = ()", "is a built-in task's"),
    ("name = 'mini'", "must define reader, add_statements, fields"),
    (("name = 'mini'\n    reader = staticmethod(lambda *a: [])\n"
      "    def add_statements(self, cfg, ctx, rows):\n        return rows"), "must define fields"),
    ("name = ''", "set the task's name"),
])
def test_registration_refuses_incomplete_or_clashing_tasks(body, why):
    ns = {"Task": Task}
    exec(f"class Bad(Task):\n    {body}\n", ns)  # noqa: S102 - a class body under test
    with pytest.raises(ValueError, match=why):
        register_task(ns["Bad"])
    assert "mini" not in task_names()


def test_the_same_task_module_imported_twice_registers_once():
    spec = importlib.util.spec_from_file_location("tests.tasks.yes_no_task_again",
                                                  Path(__file__).parent / "yes_no_task.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert task_names().count(NAME) == 1 and isinstance(get_task(NAME), YesNoVQA)
