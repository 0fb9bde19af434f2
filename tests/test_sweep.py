import csv
import json

import pytest

from fgalign.config import ConfigError
from fgalign.config_files import load_any_config
from fgalign.sweep import SweepSpec, apply_params, forbid_clip, load_sweep_spec

SPEC = """
base: {base}
target: vcr
num_samples: 2
max_concurrent_trials: 2
grace_period: 1
max_epochs: 3
space:
  lr: {{type: loguniform, low: 1.0e-3, high: 1.0e-2}}
  rank: {{type: choice, values: [4, 8]}}
  task_weights.vqa: {{type: uniform, low: 0.5, high: 2.0}}
  epochs: {{type: choice, values: [2, 3]}}
"""


@pytest.fixture
def spec_path(tmp_path):
    base = tmp_path / "exp.yaml"
    base.write_text("experiment: {name: toy, output_dir: %s}\n"
                    "data: {tasks: [vqa, snli_ve, vcr]}\n"
                    "adapt: {batch_size: 32, bootstrap: 100}\n"
                    "logging: {project: fgalign-test}\n" % (tmp_path / "runs"))
    p = tmp_path / "sweeps" / "toy.yaml"
    p.parent.mkdir()
    p.write_text(SPEC.format(base="../exp.yaml"))
    return p


def test_spec_validates_keys_and_resolves_base(spec_path, tmp_path):
    spec = load_any_config(spec_path)
    assert isinstance(spec, SweepSpec) and spec.experiment_config().experiment.name == "toy"
    bad = tmp_path / "sweeps" / "bad.yaml"
    bad.write_text(SPEC.format(base="../exp.yaml").replace("rank:", "rnak:"))
    with pytest.raises(ConfigError, match="rnak: not an adapt"):
        load_sweep_spec(bad)
    bad.write_text(SPEC.format(base="../missing.yaml"))
    with pytest.raises(ConfigError, match="not found"):
        load_sweep_spec(bad)


def test_apply_params_sets_fields_and_task_weights(spec_path):
    cfg = load_sweep_spec(spec_path).experiment_config()
    a = apply_params(cfg.adapt, {"lr": 0.5, "rank": 4, "task_weights.vqa": 2.0})
    assert (a.lr, a.rank, a.task_weights) == (0.5, 4, {"vqa": 2.0})


def test_forbid_clip_blocks_model_factories_and_restores():
    from fgalign.models import ModelForbiddenError, create_backbone, forbid_models
    from fgalign.models.bundle import build_clip, check_models_allowed

    with forbid_clip():
        with pytest.raises(ModelForbiddenError, match="cached embeddings"):
            create_backbone("test-tiny")
        with pytest.raises(ModelForbiddenError, match="cached embeddings"):
            build_clip({"embed_dim": 8})
        with forbid_models("inner"), pytest.raises(ModelForbiddenError, match="inner"):
            check_models_allowed()
        with pytest.raises(ModelForbiddenError, match="cached embeddings"):
            check_models_allowed()  # the outer reason is back after the inner block
    check_models_allowed()  # allowed again outside
    assert create_backbone("test-tiny").embed_dim > 0


@pytest.mark.ray
@pytest.mark.slow
def test_sweep_runs_resumes_and_scores_best_on_target(spec_path, tmp_path, ray_session):
    from toy_world import write_toy_caches

    from fgalign.sweep import run_sweep

    spec = load_sweep_spec(spec_path)
    cfg = spec.experiment_config()
    caches = write_toy_caches(tmp_path / "caches", {"train": 80, "val": 30, "test": 60})
    out = run_sweep(spec, cfg, caches, tmp_path / "sweep", embed_time_s=1.0)
    best = json.loads((tmp_path / "sweep" / "best.json").read_text())
    assert best == json.loads(json.dumps(out, default=str))
    assert best["target"] == "vcr" and best["sources"] == ["vqa", "snli_ve"]
    assert best["trial_errors"] == []  # no trial failed (none tried to build a CLIP model)
    assert best["n"] == 60 and 0 <= best["adapted"] <= 100
    with open(tmp_path / "sweep" / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and "config/lr" in rows[0]
    assert list((tmp_path / "sweep" / "wandb").glob("offline-run-*"))  # W&B, offline
    # resuming a finished sweep runs nothing new and gives the same best trial
    again = run_sweep(spec, cfg, caches, tmp_path / "sweep", resume=True)
    assert again["best_trial"] == best["best_trial"]
