"""Ablation grids: the spec (``configs/ablations/*.yaml``), the cells, and the table.

A spec crosses scoring components × tasks × proposers × backbones over one experiment config::

    base: ../demo.yaml
    overrides: [data.limit=200]
    components: [global, global+region_word, global+region_sentence, global+tag_text,
                 fusion, adapted]
    tasks: [vqa, snli_ve, vcr]
    proposers: [segment]
    backbones: [shapes-tiny]

Component names are metrics.json's variant names, parsed by ``fgalign.variants.Variant`` (one
definition for both): ``global`` (cos(image, statement) alone), ``global+<c>`` (one fine
component added with its configured λ; the spec is rejected when the base config leaves c off),
``fusion`` (every active component, with its λ) and ``adapted`` (fusion + the contrastive
adaptation trained leave-one-task-out on the other tasks of the grid, scored on this task).
A cell and the metrics.json variant of the same name are therefore the same fused score.

Cells sharing (proposer, backbone) share one set of stage caches (embeddings are computed once,
then every component and task is scored from them). ``evaluate_cell`` is Ray-free; the pipeline
runs one cell per Ray task. Each cell yields its score with a 95% bootstrap interval and its
difference to ``global`` on the same instances (paired bootstrap).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from fgalign.adapt import (
    AdaptedScorer,
    TaskStore,
    leave_one_out,
    open_store,
    tag_filters,
    target_scores,
    zero_shot_model,
)
from fgalign.adapt.caches import needed_keys
from fgalign.config import (
    Config,
    ConfigError,
    TaskName,
    read_yaml_mapping,
    validate_as,
)
from fgalign.load import SpecFile
from fgalign.metrics import paired_bootstrap
from fgalign.numbers import NonNegative
from fgalign.schema import BUILTIN_TASKS
from fgalign.tasks import get_task
from fgalign.variants import ALL_VARIANTS, Variant, VariantError


def _variant_name(name: str) -> str:
    try:
        return Variant.parse(name).name
    except VariantError as e:
        raise PydanticCustomError("unknown_name", "{why}", {"why": str(e)}) from None


Component = Annotated[str, AfterValidator(_variant_name)]  # a fgalign.variants name
COMPONENT_ORDER = ALL_VARIANTS  # table order
CELL_RESOURCES = ("num_cpus", "num_gpus")  # ray.remote options a cell reads


class AblationSpec(SpecFile):
    RESOURCES: ClassVar[tuple[str, ...]] = CELL_RESOURCES
    RESOURCE_KIND: ClassVar[str] = "cell resource"

    components: list[Component] = Field(default_factory=lambda: list(COMPONENT_ORDER))  # rows
    tasks: list[TaskName] = Field(default_factory=lambda: list(BUILTIN_TASKS))  # tasks
    proposers: list[str] = Field(default_factory=lambda: ["segment"])  # regions.proposer values
    backbones: list[str] = Field(default_factory=lambda: ["shapes-tiny"])  # model.name values
    resources: dict[str, NonNegative] = Field(default_factory=lambda: {"num_cpus": 1.0})  # per cell
    # (ray.remote options: num_cpus, num_gpus)
    wandb: bool = True  # log the table to W&B (offline without a key)

    def cell_config(self, proposer: str | None = None, backbone: str | None = None) -> Config:
        """The base config with overrides, for one (proposer, backbone) of the grid."""
        return self.experiment_config([f"regions.proposer={proposer or self.proposers[0]}",
                                       f"model.name={backbone or self.backbones[0]}",
                                       f"data.tasks=[{', '.join(self.tasks)}]"])

    def cells(self) -> list[Cell]:
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
    """Validate an ablation spec file and the experiment config of every (proposer, backbone).

    Raises ``ConfigError`` (one line per bad key, ``fgalign.config`` format) on unknown keys,
    component or task names, and on a ``global+<c>`` component the base config does not
    define (c off or not computed: ``fgalign.variants.Variant.check``).
    """
    raw = read_yaml_mapping(path, "ablation spec")
    spec = validate_as(AblationSpec, {**raw, "path": str(path)}, str(path), "ablation spec")
    if "adapted" in spec.components and len(spec.tasks) < 2:
        raise ConfigError(f"invalid ablation spec {path}:\n  components: 'adapted' needs at "
                          "least 2 tasks (one held out)")
    for p in spec.proposers:
        for b in spec.backbones:
            cfg = spec.cell_config(p, b)
            for i, name in enumerate(spec.components):
                try:
                    Variant.parse(name).check(cfg.align)
                except VariantError as e:
                    raise ConfigError(f"invalid ablation spec {path}:\n  components.{i}: {e} "
                                      f"in {spec.base}") from None
    return spec



def mean_ci(scores: np.ndarray, n: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile bootstrap interval of the mean of per-instance ``scores`` (N,)."""
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, len(scores), size=(n, len(scores)))].mean(1)  # (n,)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]


def keys_for(spec: AblationSpec, cfg: Config) -> list[tuple[str, str]]:
    """Every (task, split) the grid's cells of one setting read."""
    keys = [(t, cfg.data.split) for t in spec.tasks]
    for t in spec.tasks:
        if get_task(t).label_classes:  # a classifier's val split and text-only train rows
            keys += needed_keys(cfg, t)[-2:]
    if "adapted" in spec.components:
        keys += [k for t in spec.tasks for k in needed_keys(cfg, t)]
    return list(dict.fromkeys(keys))


def variant_scorer(cfg: Config, component: str, dim: int) -> AdaptedScorer:
    """Zero-shot scorer of a non-adapted cell: the fused score of the metrics.json variant of
    the same name (``fgalign.variants``: same components, same λ). ``VariantError`` when the
    config does not define the variant."""
    return zero_shot_model(cfg, dim, components=Variant.parse(component).components(cfg.align))


def evaluate_cell(cfg_json: dict[str, Any], cell: Cell, caches: dict[str, str]
                  ) -> dict[str, Any]:
    """Per-instance scores (percent) of one cell, from cached embeddings only (no CLIP).

    Non-adapted components score with the zero-shot scorer restricted to their components
    (SNLI-VE: its text-only classifier over those components' features); ``adapted`` runs
    leave-one-task-out with ``cell.task`` held out.
    """
    cfg = Config.model_validate(cfg_json)
    if cell.component == "adapted":
        result, _ = leave_one_out(cfg, cell.task, open_store(cfg, caches, cell.task))
        scores = result["per_instance"]["adapted"]
    else:
        store = TaskStore.from_parquet(caches, cfg.align, tag_filter=tag_filters(cfg))
        first = store.rows(cell.task, cfg.data.split)
        dim = next(len(r["image_emb"]) for r in first if not r.get("error")
                   and r.get("image_emb") is not None and len(r["image_emb"]))
        model = variant_scorer(cfg, cell.component, dim)
        scores = target_scores(cfg, model, store, cell.task).tolist()
    return {"cell": cell, "scores": scores}


def build_table(results: list[dict[str, Any]], n_boot: int = 1000, seed: int = 0
                ) -> list[dict[str, Any]]:
    """One row per cell: score, 95% CI, n, and the paired difference to ``global``."""
    by_cell = {r["cell"]: np.asarray(r["scores"], np.float64) for r in results}
    rows = []
    for cell, s in by_cell.items():
        base = by_cell.get(Cell(cell.proposer, cell.backbone, cell.task, "global"))
        row = {"proposer": cell.proposer, "backbone": cell.backbone, "task": cell.task,
               "component": cell.component, "n": len(s), "score": round(float(s.mean()), 2)}
        lo, hi = mean_ci(s, n_boot, seed)
        row.update(ci95_lo=round(lo, 2), ci95_hi=round(hi, 2))
        if base is not None and cell.component != "global" and len(base) == len(s):
            d = paired_bootstrap(base, s, n=n_boot, seed=seed)
            row.update(delta_vs_global=round(d["mean"], 2), delta_lo=round(d["ci95"][0], 2),
                       delta_hi=round(d["ci95"][1], 2))
        rows.append(row)
    order = {c: i for i, c in enumerate(COMPONENT_ORDER)}
    return sorted(rows, key=lambda r: (r["proposer"], r["backbone"], r["task"],
                                       order[r["component"]]))


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The table as Markdown: score [95% CI] and Δ vs global [95% CI] per cell."""
    lines = [("| proposer | backbone | task | component | n | score [95% CI] "
              "| Δ vs global [95% CI] |"),
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        delta = (f"{r['delta_vs_global']:+.2f} [{r['delta_lo']:+.2f}, {r['delta_hi']:+.2f}]"
                 if "delta_vs_global" in r else "")
        lines.append(f"| {r['proposer']} | {r['backbone']} | {r['task']} | {r['component']} | "
                     f"{r['n']} | {r['score']:.2f} [{r['ci95_lo']:.2f}, {r['ci95_hi']:.2f}] | "
                     f"{delta} |")
    return "\n".join(lines) + "\n"


def bar_chart(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Grouped bars (tasks × components) with 95% CI whiskers, one panel per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = sorted({(r["proposer"], r["backbone"]) for r in rows})
    tasks = sorted({r["task"] for r in rows})
    comps = [c for c in COMPONENT_ORDER if any(r["component"] == c for r in rows)]
    fig, axes = plt.subplots(1, len(settings), figsize=(2.2 + 2.4 * len(tasks) * len(settings),
                                                        3.6), squeeze=False)
    width = 0.8 / len(comps)
    for ax, (prop, bb) in zip(axes[0], settings):
        for j, comp in enumerate(comps):
            got = {r["task"]: r for r in rows if (r["proposer"], r["backbone"], r["component"])
                   == (prop, bb, comp)}
            xs = [i + (j - (len(comps) - 1) / 2) * width for i, t in enumerate(tasks) if t in got]
            ys = [got[t]["score"] for t in tasks if t in got]
            err = [[got[t]["score"] - got[t]["ci95_lo"] for t in tasks if t in got],
                   [got[t]["ci95_hi"] - got[t]["score"] for t in tasks if t in got]]
            ax.bar(xs, ys, width, yerr=err, capsize=2, label=comp)
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set_ylabel("score (%)")
        ax.set_title(f"{prop} / {bb}", fontsize=9)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
