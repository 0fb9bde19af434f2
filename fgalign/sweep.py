"""Hyperparameter sweeps of the adaptation: the spec (``configs/sweeps/*.yaml``) and the trial.

A sweep spec names an experiment config (``base`` + ``overrides``), the held-out ``target``
task, the search space over ``adapt.*`` fields and the Tune settings::

    base: ../demo.yaml            # experiment config, relative to this file
    overrides: [data.limit=300]   # key=value on the base config
    target: snli_ve               # held out: trials never read it; best.json scores it at the end
    num_samples: 8
    space:
      lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}
      rank: {type: choice, values: [4, 8, 16]}
      task_weights.vqa: {type: uniform, low: 0.5, high: 2.0}

Each trial (``train_trial``) trains the adaptation on the source tasks from *cached* embeddings
(Parquet files the driver filled before the sweep) and reports the source-val score after every
epoch with a checkpoint, so ASHA can stop it early. It never builds a CLIP model: ``forbid_clip``
makes any attempt raise inside the trial process. Ray is imported only inside the functions
that need it, so the library stays importable without Ray.
"""
from __future__ import annotations

import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from fgalign.adapt import AdaptedScorer, evaluate_target, fit, open_store, save_state, sources_of
from fgalign.config import (
    AdaptCfg,
    Config,
    Section,
    TaskName,
    key_error,
    read_yaml_mapping,
    to_dict,
    validate_as,
)
from fgalign.load import SpecFile
from fgalign.logging import wandb_mode
from fgalign.models.bundle import forbid_models
from fgalign.numbers import Finite, NonNegative, Seed, Size
from fgalign.tasks import task_names

TRIAL_RESOURCES = ("cpu", "gpu", "memory")  # keys of tune.with_resources' dict

METRIC = "source_val"  # mean source-task val score in percent, maximised


class Param(Section):
    """One searched hyperparameter."""

    type: Literal["uniform", "loguniform", "choice", "randint"]  # distribution
    low: Finite | None = None  # lower bound (uniform, loguniform, randint)
    high: Finite | None = None  # upper bound (randint: exclusive)
    values: list[Any] | None = None  # options (choice)

    def to_tune(self) -> Any:
        """The matching ``ray.tune`` search-space object."""
        from ray import tune

        if self.type == "choice":
            return tune.choice(self.values)
        if self.type == "randint":
            return tune.randint(int(self.low), int(self.high))
        return getattr(tune, self.type)(self.low, self.high)


class SweepSpec(SpecFile):
    RESOURCES: ClassVar[tuple[str, ...]] = TRIAL_RESOURCES
    RESOURCE_KIND: ClassVar[str] = "trial resource"

    target: TaskName = "snli_ve"  # held-out task (never read by trials)
    num_samples: Size = 8  # trials
    max_concurrent_trials: Size = 2  # trials running at once
    resources: dict[str, NonNegative] = Field(default_factory=lambda: {"cpu": 1.0})  # per trial
    search_seed: Seed = 0  # Optuna sampler seed
    grace_period: Size = 1  # ASHA: epochs before a trial can be stopped
    reduction_factor: Annotated[Finite, Field(gt=1)] = 2.0  # ASHA: keep 1/reduction_factor at each rung
    max_epochs: Size = 20  # ASHA max_t (epochs)
    space: dict[str, Param] = Field(default_factory=dict)  # adapt.<key> or task_weights.<task>
    wandb: bool = True  # W&B via Tune's WandbLoggerCallback (offline without a key)

    @field_validator("space")
    @classmethod
    def _known_keys(cls, space: dict[str, Param]) -> dict[str, Param]:
        for key, p in space.items():
            head, _, sub = key.partition(".")
            if head not in AdaptCfg.model_fields:
                raise key_error(key, "not an adapt.* field (known: "
                                f"{', '.join(AdaptCfg.model_fields)})")
            if head == "task_weights" and sub not in task_names():
                raise key_error(key, f"task_weights.<task> with task in "
                                f"{', '.join(task_names())}")
            if head != "task_weights" and sub:
                raise key_error(key, f"adapt.{head} has no sub-keys")
            if p.type == "choice" and not p.values:
                raise key_error(key, "choice needs values")
            if p.type != "choice" and (p.low is None or p.high is None):
                raise key_error(key, f"{p.type} needs low and high")
        return space

    def param_space(self) -> dict[str, Any]:
        """Tune param space: ``{"lr": tune.loguniform(..), "task_weights.vqa": ..}``."""
        return {k: p.to_tune() for k, p in self.space.items()}


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Validate a sweep spec file, including the experiment config it points to.

    Raises ``ConfigError`` in the ``fgalign.config`` format (one line per bad dotted key).
    """
    raw = read_yaml_mapping(path, "sweep spec")
    spec = validate_as(SweepSpec, {**raw, "path": str(path)}, str(path), "sweep spec")
    spec.experiment_config()
    return spec



def apply_params(adapt: AdaptCfg, params: dict[str, Any]) -> AdaptCfg:
    """``adapt`` with sampled values set; ``task_weights.<task>`` keys update the weight dict."""
    data = adapt.model_dump()
    for key, value in params.items():
        head, _, sub = key.partition(".")
        if head == "task_weights":
            data["task_weights"] = {**data["task_weights"], sub: float(value)}
        else:
            data[head] = value
    return AdaptCfg.model_validate(data)


def forbid_clip() -> AbstractContextManager[None]:
    """Inside the block, building a CLIP model raises (trials use cached embeddings):
    ``fgalign.models.forbid_models`` — a guard at fgalign's model factories, no patching."""
    return forbid_models("a sweep trial tried to build a CLIP model; trials must read the "
                         "cached embeddings")


def train_trial(params: dict[str, Any], *, cfg_json: dict[str, Any], target: str,
                caches: dict[str, str]) -> None:
    """Tune function trainable: adapt on the sources, report source-val every epoch.

    Args:
        params: sampled hyperparameters (``SweepSpec.space`` keys).
        cfg_json: the resolved experiment config (``to_dict(cfg)``).
        target: held-out task; its cache path is not even passed in.
        caches: ``"task/split" → Parquet path`` of cached embedded rows (sources only).
    """
    import torch
    from ray import tune

    torch.set_num_threads(1)
    cfg = Config.model_validate(cfg_json)
    adapt = apply_params(cfg.adapt, params)
    store = open_store(cfg, caches, target, box_features=adapt.box_features)
    ckpt = tune.get_checkpoint()
    start_state = None
    if ckpt is not None:
        with ckpt.as_directory() as d:
            start_state = torch.load(Path(d) / "state.pt", weights_only=True)

    def on_epoch(epoch: int, metrics: dict[str, float], state: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as d:
            save_state(state, Path(d) / "state.pt")
            tune.report({METRIC: metrics["source_val"], "epoch": epoch,
                         **{f"val_{t}": v for t, v in metrics["per_task"].items()}},
                        checkpoint=tune.Checkpoint.from_directory(d))

    with forbid_clip():
        fit(cfg, adapt, store, target=target, seed=cfg.experiment.seed, on_epoch=on_epoch,
            resume=start_state)


def run_sweep(spec: SweepSpec, cfg: Config, caches: dict[str, str], sweep_dir: str | Path,
              resume: bool = False, embed_time_s: float | None = None) -> dict[str, Any]:
    """Run (or resume) the Tune sweep, then score the best trial on the held-out target.

    Args:
        spec: the sweep spec.
        cfg: its experiment config.
        caches: ``"task/split" → Parquet`` of embedded rows: the sources' train/val splits and
            the target's ``data.split`` (given to the final evaluation only, never to trials).
        sweep_dir: output folder (Tune's experiment lives in ``sweep_dir/tune``).
        resume: continue an interrupted sweep with ``Tuner.restore``.
        embed_time_s: how long filling the embedding caches took (written to best.json).

    Returns:
        The content of ``best.json`` (also written), plus ``trials.csv`` next to it.
    """
    import gc
    import os

    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    sweep_dir = Path(sweep_dir).resolve()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    source_caches = {k: v for k, v in caches.items() if not k.startswith(f"{spec.target}/")}
    trainable = tune.with_resources(
        tune.with_parameters(train_trial, cfg_json=to_dict(cfg), target=spec.target,
                             caches=source_caches),
        spec.resources)
    tune_dir = sweep_dir / "tune"
    callbacks: list = []
    if resume and tune.Tuner.can_restore(tune_dir):
        tuner = tune.Tuner.restore(str(tune_dir), trainable, resume_errored=True)
    else:
        if spec.wandb and cfg.logging.wandb:
            # Tune checks WANDB_MODE in the driver before asking for a key; the kwargs go to
            # wandb.init in its logging actors (offline without an API key)
            os.environ.setdefault("WANDB_MODE", wandb_mode())
            callbacks.append(_wandb_callback()(project=cfg.logging.project,
                                                 entity=cfg.logging.entity, log_config=True,
                                                 group=sweep_dir.name, dir=str(sweep_dir),
                                                 mode=wandb_mode()))
        tuner = tune.Tuner(
            trainable, param_space=spec.param_space(),
            tune_config=tune.TuneConfig(
                metric=METRIC, mode="max", num_samples=spec.num_samples,
                max_concurrent_trials=spec.max_concurrent_trials,
                search_alg=OptunaSearch(seed=spec.search_seed),
                scheduler=ASHAScheduler(max_t=spec.max_epochs, grace_period=spec.grace_period,
                                        reduction_factor=spec.reduction_factor)),
            run_config=tune.RunConfig(
                name="tune", storage_path=str(sweep_dir), callbacks=callbacks,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1), verbose=1))
    grid = tuner.fit()
    callbacks.clear()
    del tuner
    gc.collect()
    return summarize(spec, cfg, grid, caches, sweep_dir, embed_time_s)


def _wandb_callback() -> type:
    """Tune's ``WandbLoggerCallback`` without the cleanup it repeats in ``__del__``.

    ``on_experiment_end`` (public: Tune calls it when ``Tuner.fit`` returns) already finishes
    the W&B logging actors; the callback's ``__del__`` runs that cleanup again, which raises
    when it happens at interpreter exit, after Ray's module is torn down, and may kill an actor
    in the middle of W&B's own shutdown. Ray shuts the actors of a failed fit down itself.
    """
    from ray.air.integrations.wandb import WandbLoggerCallback

    class FinishedOnExperimentEnd(WandbLoggerCallback):
        def __del__(self) -> None:
            pass

    return FinishedOnExperimentEnd


def best_result(grid: Any) -> Any:
    """The trial with the highest source-val score at any epoch; ties go to the lower trial id."""
    scored = [(r.metrics_dataframe[METRIC].max(), r.metrics.get("trial_id", ""), i)
              for i, r in enumerate(grid) if r.metrics_dataframe is not None
              and METRIC in r.metrics_dataframe]
    if not scored:
        raise RuntimeError(f"no trial reported {METRIC}; errors: {[r.error for r in grid]}")
    _, _, i = min(scored, key=lambda x: (-x[0], x[1]))
    return grid[i]


def summarize(spec: SweepSpec, cfg: Config, grid: Any, caches: dict[str, str], sweep_dir: Path,
              embed_time_s: float | None) -> dict[str, Any]:
    """Write trials.csv and best.json (the best trial by source val, scored on the target)."""
    import json

    import torch

    df = grid.get_dataframe(filter_metric=METRIC, filter_mode="max")
    keep = ["trial_id", METRIC, "training_iteration", "time_total_s"]
    cols = keep + sorted(c for c in df.columns if c.startswith("config/"))
    df[[c for c in cols if c in df.columns]].to_csv(sweep_dir / "trials.csv", index=False)
    errors = [str(r.error) for r in grid if r.error is not None]
    best = best_result(grid)
    adapt = apply_params(cfg.adapt, best.config)
    with best.checkpoint.as_directory() as d:
        state = torch.load(Path(d) / "state.pt", weights_only=True)
    store = open_store(cfg, caches, spec.target, box_features=adapt.box_features)
    first_source = sources_of(cfg, spec.target)[0]
    dim = int(store.get(first_source, cfg.data.val_split).batch([0])[0].image.shape[1])
    model = AdaptedScorer(dim, adapt, cfg.align)
    model.load_state_dict(state["best"]["state"])
    result = evaluate_target(cfg, model, store, spec.target, seed=cfg.experiment.seed)
    result.pop("per_instance")
    trial_times = df["time_total_s"].tolist() if "time_total_s" in df else []
    out = {"target": spec.target, "sources": sources_of(cfg, spec.target),
           "best_trial": best.metrics.get("trial_id"), "params": best.config,
           "source_val": float(state["best"]["score"]), "best_epoch": int(state["best"]["epoch"]),
           **{k: result[k] for k in ("split", "n", "zero_shot", "adapted", "delta")},
           "trials": len(df), "trial_errors": errors,
           "time_per_trial_s": float(sum(trial_times) / len(trial_times)) if trial_times else None,
           "embed_time_s": embed_time_s, "checkpoint": str(best.checkpoint.path)}
    (sweep_dir / "best.json").write_text(json.dumps(out, indent=2, default=str))
    return out
