"""pipelines/full.py end to end on a tiny world: outputs, W&B offline, caches, parity."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fgalign.load import load_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from fgalign.data.synth import generate_world

    base = tmp_path_factory.mktemp("pipeline")
    generate_world(base / "world", seed=0, images=30, image_size=64, progress=False)
    return base


def _args(base, *extra):
    return ["--config", str(ROOT / "configs/demo.yaml"),
            "--set", f"data.root={base / 'world'}", "--set", "data.synth.generate=false",
            "--set", "model.name=test-tiny", "--set", "keywords.extractor=rule",
            "--set", "data.limit=5",
            "--set", "data.tasks=[vqa, snli_ve, vcr]", "--set", "tasks.vqa.val_limit=6",
            "--set", "tasks.snli_ve.train_limit=60", "--set", "tasks.snli_ve.val_limit=12",
            "--set", f"experiment.output_dir={base / 'runs'}", "--set", "logging.figures=1",
            *extra]


def _stages(run_dir):
    return {f"{r['task']}/{r['split']}/{r['stage']}": r["cached"]
            for r in json.loads((run_dir / "stages.json").read_text())}


def test_full_pipeline_outputs_wandb_caches_and_parity(ray_session, tiny, monkeypatch, capsys):
    pipelines_full = pytest.importorskip("runpy").run_path(str(ROOT / "pipelines/full.py"))
    main = pipelines_full["main"]
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tiny / "wandb_dir"))

    assert main(_args(tiny)) == 0
    out = capsys.readouterr().out
    assert "fusion - global" in out and "vcr      test" in out and " score " in out
    run_dir = next((tiny / "runs/demo").glob("[0-9a-f]*"))
    for name in ("config.yaml", "metrics.json", "predictions.parquet", "vqa_results.json",
                 "report.md", "stages.json", "figures/vqa_alignment.png"):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {t: m["n"] for t, m in metrics["tasks"].items()} == {"vqa": 5, "snli_ve": 5,
                                                                  "vcr": 5}
    stages = _stages(run_dir)
    # everything computed, each stage of each input set once: the images of every set in the
    # first execution (under the first set that needs them; VQA's test images came with its
    # calibration set's), then the rows of every set, the test split's scores included
    assert not any(c for k, c in stages.items()
                   if "/test/" in k and k.rsplit("/", 1)[1] not in ("regions", "images"))
    assert not stages["vqa/val:yes-no/images"] and stages["vqa/test/images"]
    assert not stages["vcr/test/regions"] and not stages["vqa/answer-prompts/embed"]
    assert "vqa/val:yes-no/score" in stages  # calibration ran through the same graph
    records = json.loads((run_dir / "stages.json").read_text())
    assert len(records) == len(stages)  # no stage of a set reported twice
    # images + prompts, then the rows of every set (the fits apply to the cached scores)
    assert json.loads((run_dir / "timings.json").read_text())["executions"] == 2

    # the W&B offline run holds the metrics, the stage timings and the predictions sample
    from fgalign.logging import read_offline_run

    wb = read_offline_run(run_dir)
    for t in ("vqa", "vcr"):
        assert wb["history"][f"metrics/{t}/fusion/score"] == \
            metrics["tasks"][t]["variants"]["fusion"]["score"], t
    assert "stages/vcr/test/embed/seconds" in wb["history"]
    assert wb["history"]["predictions/nrows"] == 15
    assert wb["config"]["model"]["name"] == "test-tiny"

    # parity: the Ray path predicts exactly what the in-process executor predicts
    from fgalign.experiment.evaluate import evaluate

    cfg = load_config(ROOT / "configs/demo.yaml", _args(tiny)[3::2] + [
        f"ray.cache_dir={tiny / 'inprocess'}"])
    local = evaluate(cfg, figures=False)
    assert {t: m["variants"] for t, m in local["tasks"].items()} == \
        {t: m["variants"] for t, m in metrics["tasks"].items()}
    ray_preds = pd.read_parquet(run_dir / "predictions.parquet")
    local_preds = pd.read_parquet(Path(local["run_dir"]) / "predictions.parquet")
    for task in cfg.data.tasks:
        ref = local_preds[local_preds.task == task].dropna(axis=1, how="all")
        ref = ref.sort_values("uid").reset_index(drop=True)
        got = ray_preds[ray_preds.task == task].dropna(axis=1, how="all")
        got = got.sort_values("uid").reset_index(drop=True)
        assert got["uid"].tolist() == ref["uid"].tolist()
        pred_cols = [c for c in ref.columns if c.startswith("pred")
                     and not c.startswith("pred_label")]
        label_cols = [c for c in ref.columns if c.endswith("label") or "_label_" in c]
        assert got[pred_cols].astype(int).equals(ref[pred_cols].astype(int)), task
        assert got[label_cols].equals(ref[label_cols]), task
        assert np.allclose(got["credit_fusion"], ref["credit_fusion"])

    # same config again: nothing recomputed; a scorer-only change: only scoring recomputed
    assert main(_args(tiny, "--no-wandb")) == 0
    assert all(_stages(run_dir).values())
    assert main(_args(tiny, "--no-wandb", "--set", "align.tau=0.2")) == 0
    tau_dir = max((tiny / "runs/demo").glob("[0-9a-f]*"), key=lambda p: p.stat().st_mtime)
    assert tau_dir != run_dir
    assert sorted(k for k, cached in _stages(tau_dir).items() if not cached) == [
        "snli_ve/test/score", "snli_ve/val/score", "vcr/test/score", "vqa/test/score",
        "vqa/val:yes-no/score"]


def test_a_failed_task_step_ends_the_ray_run_with_its_error(ray_session, tiny, tmp_path,
                                                           monkeypatch):
    """SNLI-VE's fit fails in the driver's step thread, beside the pass: the run ends with
    that error (the pass stops at its next chunk instead of scoring every set first), leaves
    no temporary folder in the stage cache, and a re-run resumes and finishes."""
    from runpy import run_path

    from fgalign.tasks import snli_ve

    main = run_path(str(ROOT / "pipelines/full.py"))["main"]
    args = _args(tiny, "--no-wandb", "--set", f"ray.cache_dir={tmp_path / 'stages'}",
                 "--set", f"experiment.output_dir={tmp_path / 'runs'}")

    def broken(*a, **k):
        raise RuntimeError("the SNLI-VE fit broke")

    with monkeypatch.context() as m:
        m.setattr(snli_ve, "fit_snli_ve", broken)
        with pytest.raises(RuntimeError, match="the SNLI-VE fit broke"):
            main(args)
    assert not list((tmp_path / "stages").rglob("*.tmp-*"))
    assert main(args) == 0
    run_dir = next((tmp_path / "runs/demo").glob("[0-9a-f]*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {t: m["n"] for t, m in metrics["tasks"].items()} == {"vqa": 5, "snli_ve": 5,
                                                                  "vcr": 5}


def test_missing_root_names_the_key(capsys):
    from runpy import run_path

    main = run_path(str(ROOT / "pipelines/full.py"))["main"]
    assert main(["--config", str(ROOT / "configs/vqav2.yaml"), "--no-wandb"]) == 2
    assert "data.root must be set" in capsys.readouterr().err


def test_demo_config_snli_ve_same_metrics_on_both_executors_and_batch_sizes(
        ray_session, tmp_path):
    """The demo config as shipped (bundled backbone, spaCy keywords and claims, every
    component, SNLI-VE's text-only fit) on a 40-scene world: ``fgalign run`` with the
    config's batch sizes and ``fgalign evaluate`` with other ones give the same metrics.json
    and the same predictions (SNLI-VE is where batch composition reached the numbers)."""
    from runpy import run_path

    from fgalign.data.synth import generate_world
    from fgalign.experiment.evaluate import evaluate

    generate_world(tmp_path / "world", seed=11, images=40, image_size=64, progress=False)
    common = [f"data.root={tmp_path / 'world'}", "data.synth.generate=false",
              "data.tasks=[snli_ve]", "logging.figures=0"]
    main = run_path(str(ROOT / "pipelines/full.py"))["main"]
    args = ["--config", str(ROOT / "configs/demo.yaml"), "--no-wandb"]
    for o in common + [f"experiment.output_dir={tmp_path / 'ray'}"]:
        args += ["--set", o]
    assert main(args) == 0
    ray_dir = next((tmp_path / "ray/demo").glob("[0-9a-f]*"))
    cfg = load_config(ROOT / "configs/demo.yaml", common + [
        f"experiment.output_dir={tmp_path / 'local'}", "model.batch_size=7",
        "ray.stages.keywords.batch_size=5", "ray.stages.embed.batch_size=9",
        "ray.stages.score.batch_size=3", "ray.rows_per_file=16"])
    local = evaluate(cfg, figures=False)
    ray_metrics = json.loads((ray_dir / "metrics.json").read_text())
    assert ray_metrics["tasks"]["snli_ve"]["n"] > 20
    assert local["tasks"] == ray_metrics["tasks"]
    ref = pd.read_parquet(Path(local["run_dir"]) / "predictions.parquet").sort_values("uid")
    got = pd.read_parquet(ray_dir / "predictions.parquet").sort_values("uid")
    assert got.reset_index(drop=True).equals(ref.reset_index(drop=True))
