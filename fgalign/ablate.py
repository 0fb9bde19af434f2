"""Ablation grids: the spec (``configs/ablations/*.yaml``), the cells, and the table.

A spec crosses scoring components × tasks × proposers × backbones over one experiment config::

    base: ../demo.yaml
    overrides: [data.limit=200]
    components: [global, global+region_word, global+region_sentence, global+tag_text,
                 fusion, adapted]
    tasks: [vqa, snli_ve, vcr]
    proposers: [segment]
    backbones: [shapes-tiny]

Component names are metrics.json's variant names: ``global`` (cos(image, statement) alone),
``global+<c>`` (one fine component added with its configured λ), ``fusion`` (all of
``align.weights``) and ``adapted`` (fusion + the contrastive adaptation trained leave-one-task-
out on the other tasks of the grid, scored zero-shot on this task).

Cells sharing (proposer, backbone) share one set of stage caches (embeddings are computed once,
then every component and task is scored from them). ``evaluate_cell`` is Ray-free; the pipeline
runs one cell per Ray task. Each cell yields its score with a 95% bootstrap interval and its
difference to ``global`` on the same instances (paired bootstrap).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field

from fgalign.config import SPECIAL_LOADERS, Config, ConfigError, Section, TaskName, load_config

Component = Literal["global", "global+region_word", "global+region_sentence",
                    "global+tag_text", "fusion", "adapted"]
COMPONENT_ORDER = ("global", "global+region_word", "global+region_sentence", "global+tag_text",
                   "fusion", "adapted")


class AblationSpec(Section):
    base: str  # experiment config path, relative to the spec file
    overrides: list[str] = Field(default_factory=list)  # key=value overrides of the base config
    components: list[Component] = Field(default_factory=lambda: list(COMPONENT_ORDER))  # rows
    tasks: list[TaskName] = Field(default_factory=lambda: ["vqa", "snli_ve", "vcr"])  # tasks
    proposers: list[str] = Field(default_factory=lambda: ["segment"])  # regions.proposer values
    backbones: list[str] = Field(default_factory=lambda: ["shapes-tiny"])  # model.name values
    resources: dict[str, float] = Field(default_factory=lambda: {"num_cpus": 1.0})  # per cell
    wandb: bool = True  # log the table to W&B (offline without a key)
    path: str | None = Field(default=None, exclude=True)  # set by the loader: the spec file

    def experiment_config(self, proposer: str | None = None, backbone: str | None = None) -> Config:
        """The base config with overrides, for one (proposer, backbone) of the grid."""
        base = Path(self.base)
        if not base.is_absolute() and self.path:
            base = Path(self.path).parent / base
        extra = [f"regions.proposer={proposer or self.proposers[0]}",
                 f"model.name={backbone or self.backbones[0]}",
                 f"data.tasks=[{', '.join(self.tasks)}]"]
        return load_config(base, self.overrides + extra)

    def cells(self) -> list["Cell"]:
        """Every (proposer, backbone, task, component) of the grid, in table order."""
        return [Cell(p, b, t, c) for p in self.proposers for b in self.backbones
                for t in self.tasks for c in self.components]


@dataclass(frozen=True)
class Cell:
    proposer: str
    backbone: str
    task: str
    component: str

    @property
    def setting(self) -> tuple[str, str]:
        """Cells with the same setting share stage caches."""
        return self.proposer, self.backbone


def load_ablation_spec(path: str | Path) -> AblationSpec:
    """Validate an ablation spec file and the experiment config of its first cell."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    try:
        spec = AblationSpec.model_validate({**raw, "path": str(path)})
    except Exception as e:  # pydantic ValidationError → ConfigError naming the file
        raise ConfigError(f"invalid ablation spec {path}:\n{e}") from None
    if "adapted" in spec.components and len(spec.tasks) < 2:
        raise ConfigError(f"{path}: 'adapted' needs at least 2 tasks (one held out)")
    spec.experiment_config()
    return spec


SPECIAL_LOADERS["ablations"] = load_ablation_spec


def variant_weights(component: str, weights: dict[str, float]) -> dict[str, float]:
    """Fusion λ of a non-adapted variant: none, one component, or all of ``align.weights``."""
    if component == "global":
        return {}
    if component.startswith("global+"):
        name = component.split("+", 1)[1]
        return {name: weights.get(name) or 1.0}
    if component == "fusion":
        return dict(weights)
    raise ValueError(f"{component!r} is not a fusion variant")


def mean_ci(scores: np.ndarray, n: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile bootstrap interval of the mean of per-instance ``scores`` (N,)."""
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), size=(n, len(scores)))].mean(1)  # (n,)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]
