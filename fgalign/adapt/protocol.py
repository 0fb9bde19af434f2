"""The leave-one-task-out protocol: adapt on the sources, then score the held-out target once.

    store = TaskStore(loader, forbidden=[target])   # the target is unreadable from here on
    fit = fit(cfg, cfg.adapt, store, target)        # sources' train + val only
    result = evaluate_target(cfg, fit.model, store, target)   # releases the target, scores it

``evaluate_target`` compares, on the target's evaluation split (``data.split``), the zero-shot
fusion (the same ``AdaptedScorer`` at initialisation: identity adapters, the config's λ and τ)
with the adapted model, per instance, and gives the paired-bootstrap interval of the difference.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fgalign.adapt.data import TaskStore
from fgalign.adapt.geometry import image_size_reader
from fgalign.adapt.module import AdaptedScorer
from fgalign.adapt.snli_ve import snli_ve_scores, usable
from fgalign.adapt.train import FitResult, fit, instance_scores, sources_of
from fgalign.config import Config, require
from fgalign.data.synth.contrast import read_contrasts
from fgalign.metrics import paired_bootstrap
from fgalign.tasks import get_task, task_names
from fgalign.threads import torch_threads


def zero_shot_model(cfg: Config, dim: int, components: list[str] | None = None) -> AdaptedScorer:
    """The untrained scorer: exactly the zero-shot fusion of ``cfg.align``."""
    adapt = cfg.adapt.model_copy(update={"temperature_init": None, "fusion_init": None,
                                         "box_features": False, "pairwise": False})
    return AdaptedScorer(dim, adapt, cfg.align, components)


def open_store(cfg: Config, caches: dict[str, str], target: str,
               box_features: bool | None = None) -> TaskStore:
    """A store over cached embeddings (``"task/split" → Parquet``) that hides ``target``.

    ``box_features`` (default ``cfg.adapt.box_features``): rows carry ``region_geom``, the
    regions' boxes normalised by the image sizes read under ``data.root``
    (``fgalign.adapt.geometry``).
    """
    box = cfg.adapt.box_features if box_features is None else box_features
    box = box or cfg.adapt.pairwise  # the pairwise term reads region_geom too
    size = image_size_reader(require(cfg.data.root, "data.root")) if box else None
    return TaskStore.from_parquet(caches, cfg.align, forbidden=[target],
                                  tag_filter=tag_filters(cfg), image_size=size)


def tag_filters(cfg: Config) -> dict[str, bool]:
    """Per registered task, whether its candidates are masked by ``Task.candidate_keep``
    (``Task.tag_filter``: VQA's ``tasks.vqa.tag_filter``)."""
    return {t: get_task(t).tag_filter(cfg) for t in task_names()}


def target_scores(cfg: Config, model: AdaptedScorer, store: TaskStore, target: str
                  ) -> np.ndarray:
    """Per-instance headline score (percent) of ``model`` on the target's ``data.split``."""
    if get_task(target).adaptation_protocol() == "text_only_classifier":  # its classifier
        return snli_ve_scores(cfg, model, store, target)
    data = store.get(target, cfg.data.split)
    if not data.eval_idx:
        raise ValueError(f"no usable embedded rows for the target {target}/{cfg.data.split}")
    return instance_scores(model, data)


def question_groups(cfg: Config, store: TaskStore, target: str) -> list[str] | None:
    """Per target instance, its ``Task.question_group`` (the question's first two words) —
    the rows of ``by_question`` — or None for a task without questions (SNLI-VE)."""
    task = get_task(target)
    if task.question_group("") is None:
        return None
    data = store.get(target, cfg.data.split)
    return [task.question_group(str(data.items[i].get("text", ""))) for i in data.eval_idx]


def family_groups(cfg: Config, store: TaskStore, target: str) -> list[str] | None:
    """Per target instance, the contrast family that separates its true candidate from the
    false ones (``fgalign.data.synth.contrast``; read from ``contrasts_<data.split>.jsonl``
    of a synthetic world) — the rows of ``by_family``. None for a root without that file.

    VQA by ``question_id``, VCR Q→A by ``annot_id`` (its wrong answers' family), SNLI-VE by
    ``pair_id``: a contradiction's family, also given to its entailed minimal pair (same
    caption, ``…e`` for ``…c``); neutral hypotheses are ``"neutral"``. An instance the file
    does not list is ``"unknown"``. Call after ``store.release(target)`` only.
    """
    task = get_task(target)
    fams = read_contrasts(cfg.data.root, cfg.data.split) if cfg.data.root else None
    if fams is None or not task.contrast_table:
        return None
    table = fams.get(task.contrast_table, {})
    if task.adaptation_protocol() == "text_only_classifier":  # per row (``target_scores``)
        rows = usable(store.rows(target, cfg.data.split))
    else:
        data = store.get(target, cfg.data.split)
        rows = [data.items[i] for i in data.eval_idx]
    return [task.contrast_family(r, table) for r in rows]


def by_group(groups: list[str], zs: np.ndarray, ad: np.ndarray, min_n: int = 20
             ) -> dict[str, dict[str, float]]:
    """``{group: {"n", "zero_shot", "adapted"}}`` (percent) for groups of at least ``min_n``."""
    out = {}
    for g in sorted(set(groups)):
        idx = [i for i, x in enumerate(groups) if x == g]
        if len(idx) >= min_n:
            out[g] = {"n": len(idx), "zero_shot": round(float(zs[idx].mean()), 2),
                      "adapted": round(float(ad[idx].mean()), 2)}
    return out


def evaluate_target(cfg: Config, model: AdaptedScorer, store: TaskStore, target: str,
                    seed: int = 0) -> dict[str, Any]:
    """Release the target and score zero-shot vs ``model`` on its ``data.split`` rows.

    Returns:
        ``{"target", "split", "n", "zero_shot", "adapted", "delta": {"mean", "ci95"}}``,
        scores in percent; per-instance scores under ``"per_instance"`` (two lists); for a
        VQA or VCR target, ``"by_question"``: both scores per question prefix; on a synthetic
        world, ``"by_family"``: both scores per contrast family (``family_groups``).
    """
    store.release(target)
    base = zero_shot_model(cfg, model.dim, model.components)
    with torch_threads(cfg.adapt.num_threads):
        zs = target_scores(cfg, base, store, target)  # (N,)
        ad = target_scores(cfg, model, store, target)  # (N,)
    delta = paired_bootstrap(zs, ad, n=cfg.adapt.bootstrap, seed=seed)
    groups = question_groups(cfg, store, target)
    out = {"target": target, "split": cfg.data.split, "n": len(zs),
           "zero_shot": float(zs.mean()), "adapted": float(ad.mean()), "delta": delta,
           "per_instance": {"zero_shot": zs.tolist(), "adapted": ad.tolist()}}
    if groups is not None and len(groups) == len(zs):
        out["by_question"] = by_group(groups, zs, ad)  # where the transfer gains or loses
    families = family_groups(cfg, store, target)
    if families is not None and len(families) == len(zs):
        out["by_family"] = by_group(families, zs, ad)  # a synthetic world's contrast families
    return out


def leave_one_out(cfg: Config, target: str, store: TaskStore) -> tuple[dict[str, Any], FitResult]:
    """Adapt on every task but ``target`` and evaluate on ``target`` (see the module docstring).

    ``store`` must hold ``target`` as forbidden; this is checked, so a caller cannot forget it.
    """
    if not store.is_forbidden(target):
        raise ValueError(f"the store must forbid the target {target} until the final evaluation")
    torch.manual_seed(cfg.experiment.seed)
    result = fit(cfg, cfg.adapt, store, target, seed=cfg.experiment.seed)
    out = evaluate_target(cfg, result.model, store, target, seed=cfg.experiment.seed)
    out = {"target": target, "sources": sources_of(cfg, target), **out,
           "best_epoch": result.best_epoch, "source_val": result.source_val,
           "learned": result.model.describe()}
    return out, result
