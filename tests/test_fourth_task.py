"""A fourth task in this one module (issue 18): its config section, reader, statements,
prediction columns and metric, run end to end in process (``evaluate``) and on Ray (``run``).

``colour_qa``: the colour questions of a VQAv2-format world ("What color is the star?") as a
multiple-choice task of its own. Candidates are the colours of ``tasks.colour_qa.colours``
(its own config keys, with ``template``, the statement of one candidate); the target is the
gold colour's index (-1, unlabelled, when it is not listed). Predictions carry
``colour_noun`` (read from the scored rows: ``prediction_columns``) and
``pred_colour_<variant>``; metrics.json carries ``per_colour`` accuracy (``metric_parts``).
Nothing outside this file knows the task.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from fgalign.config import Config, ConfigError, Section, config_hash
from fgalign.data.synth import DATA_PATHS, generate_world
from fgalign.data.vqa import read_vqa
from fgalign.load import build_config
from fgalign.schema import TASK_FIELDS
from fgalign.tasks import Task, get_task, register_task, task_names
from fgalign.tasks.vqa.answers import majority_answer

NAME = "colour_qa"
PREFIX = "What color is the "
# Ray workers import the task's module by the name its class records (the plan passes
# ``type(task).__module__``); pytest imports this file as ``test_fourth_task`` (tests/ is on
# the driver's sys.path only), the workers find it as ``tests.test_fourth_task`` under the
# driver's working directory (the repository root), which Ray puts on their sys.path.
MODULE = "tests.test_fourth_task"


class ColourQACfg(Section):
    """``tasks.colour_qa``: the candidate colours and the statement of one candidate."""

    colours: list[str] = Field(default_factory=lambda: ["red", "green", "blue", "yellow",
                                                        "purple", "orange", "cyan", "gray"],
                               min_length=2)
    template: str = "the {noun} is {colour}"  # {noun}: what the question asks about


def read_colour_questions(root, split, data_cfg) -> tuple[list[dict], dict[str, int]]:
    """The colour questions of a VQAv2 split (error rows kept) and the skipped count."""
    rows, skipped = [], Counter()
    for r in read_vqa(root, split, data_cfg):
        if not r["error"] and not r["text"].startswith(PREFIX):
            skipped["not a colour question"] += 1
            continue
        noun = r["text"].removeprefix(PREFIX).rstrip("?").strip() if not r["error"] else ""
        gold = majority_answer(r["target"]) if r["target"] else ""
        rows.append(dict(r, task=NAME, uid=f"{NAME}:{r['uid'].split(':', 1)[1]}", target=-1,
                         colour_noun=noun, gold_colour=gold))
    return rows, dict(skipped)


@register_task
class ColourQA(Task):
    """Colour questions, one candidate per configured colour (see the module docstring)."""

    __module__ = MODULE
    name = NAME
    config_model = ColourQACfg
    reader = staticmethod(read_colour_questions)
    fields = TASK_FIELDS["vqa"] + ("colour_noun", "gold_colour")
    metric = "colour accuracy"
    metric_parts = (("per_colour", "accuracy per gold colour"),)
    prediction_columns = ("colour_noun", "gold_colour")

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        section: ColourQACfg = cfg.tasks.colour_qa
        for r in rows:
            ok = not r.get("error")
            r["candidates"] = list(section.colours)
            r["statements"] = [section.template.format(noun=r["colour_noun"], colour=c)
                               for c in section.colours] if ok else []
            r["cand_group"] = [0] * len(r["statements"])
            gold = r["gold_colour"]
            r["target"] = section.colours.index(gold) if ok and gold in section.colours else -1
            r["labels"] = [r["target"]]
        return rows

    def record(self, row: dict, preds: dict[str, tuple[int, int]]) -> dict:
        cands = list(row["candidates"])
        return {"colour_noun": str(row["colour_noun"]), **{
            f"pred_colour_{v}": cands[p] if 0 <= p < len(cands) else ""
            for v, (p, _) in preds.items()}}

    def row_stats(self, row: dict) -> dict:
        return {"gold_colour": str(row.get("gold_colour") or "")}

    def variant_metrics(self, credit, preds, stats, score) -> dict:
        gold = stats["gold_colour"]
        return {"per_colour": {c: round(float(credit[gold == c, 0].mean()), 2)
                               for c in sorted(set(gold))}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("colour") / "world"
    generate_world(root, seed=3, images=30, image_size=64, progress=False)
    return root


def _cfg(root, out, **section) -> Config:
    return build_config({
        "data": {"root": str(root), "limit": 6, "tasks": [NAME], **DATA_PATHS},
        "model": {"name": "test-tiny", "batch_size": 16},
        "keywords": {"extractor": "rule"},
        "tasks": {NAME: {"colours": ["red", "green", "blue", "yellow", "purple", "orange",
                                     "cyan", "gray"], **section}},
        "adapt": {"bootstrap": 20}, "logging": {"wandb": False, "figures": 0},
        "experiment": {"output_dir": str(out)},
    })


def test_the_task_owns_its_config_section(tmp_path):
    assert NAME in task_names() and isinstance(get_task(NAME), ColourQA)
    cfg = _cfg(tmp_path, tmp_path, template="a {colour} {noun}")
    assert isinstance(cfg.tasks.colour_qa, ColourQACfg) and cfg.tasks.colour_qa.template == \
        "a {colour} {noun}"
    with pytest.raises(ConfigError) as e:
        _cfg(tmp_path, tmp_path, colors=["red"], template=3)
    assert str(e.value).splitlines()[1:] == [
        "  tasks.colour_qa.template: Input should be a valid string (got 3)",
        "  tasks.colour_qa.colors: unknown key; did you mean tasks.colour_qa.colours?"]
    # a config that does not list the task has no section of it: its hash does not depend
    # on the task modules a process imported
    assert build_config({}).tasks.section(NAME) is None
    assert config_hash(build_config({})) == config_hash(build_config({"tasks": {}}))


def _check_run(run_dir: Path, n: int) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    m = metrics["tasks"][NAME]
    assert m["n"] == n and m["labels"] and m["errors"] == {}
    assert m["metric"] == {"score": "colour accuracy", "per_colour": "accuracy per gold colour"}
    fusion = m["variants"]["fusion"]
    assert 0 <= fusion["score"] <= 100 and set(fusion["per_colour"]) <= set(
        ColourQACfg().colours)
    preds = pd.read_parquet(run_dir / "predictions.parquet")
    assert len(preds) == n and set(preds.task) == {NAME}  # rows in = rows out
    assert preds.colour_noun.str.len().min() > 0  # read back from the scored rows
    assert set(preds.pred_colour_fusion) <= set(ColourQACfg().colours)
    picked = [ColourQACfg().colours.index(c) for c in preds.pred_colour_fusion]
    assert picked == preds.pred_fusion.tolist()
    return m


@pytest.mark.slow
def test_the_fourth_task_runs_in_process(world, tmp_path):
    from fgalign.experiment.evaluate import evaluate

    metrics = evaluate(_cfg(world, tmp_path / "runs"), figures=False)
    m = _check_run(Path(metrics["run_dir"]), 6)
    assert m["variants"] == metrics["tasks"][NAME]["variants"]


@pytest.mark.ray
@pytest.mark.slow
def test_the_fourth_task_runs_on_ray(ray_session, world, tmp_path):
    from fgalign.experiment.evaluate import evaluate
    from fgalign.experiment.run import run_pipeline

    cfg = _cfg(world, tmp_path / "ray")
    result = run_pipeline(cfg, use_wandb=False)
    ray_m = _check_run(Path(result["run_dir"]), 6)
    local = evaluate(_cfg(world, tmp_path / "local"), figures=False)
    assert ray_m["variants"] == local["tasks"][NAME]["variants"]  # the two executors agree
    assert np.isfinite(ray_m["variants"]["fusion"]["score"])
