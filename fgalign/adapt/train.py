"""Joint multi-task training of the ``AdaptedScorer`` on source tasks, selected on source val.

Each step draws one source task (probability ∝ ``adapt.task_weights``, default 1 each), then a
batch of its train rows, and minimises

    InfoNCE over each instance's candidates (soft target = candidate credit)
    + adapt.in_batch_weight · in-batch image↔true-statement InfoNCE
    + adapt.anchor_weight · mean (1 − cos(adapted, frozen)) over every real embedding
    + adapt.fusion_anchor_weight · Σ (λ − λ_zero-shot)²  (the fusion weights' anchor)

with AdamW. After every epoch the mean source-val score (percent) decides the best state and
early stopping (``adapt.patience``). Deterministic given the seed: one ``numpy`` generator drives
all sampling, ``torch.manual_seed`` fixes the initialisation. Torch runs with
``adapt.num_threads`` threads (1 by default: these ops are tiny, and more threads on a shared
CPU made a step ~30× slower here).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fgalign.adapt.data import TaskData, TaskStore
from fgalign.adapt.losses import candidate_nce, in_batch_nce
from fgalign.adapt.module import AdaptedScorer
from fgalign.align import AlignBatch
from fgalign.config import AdaptCfg, Config, ConfigError
from fgalign.threads import torch_threads

EpochCallback = Callable[[int, dict[str, Any], dict[str, Any]], None]


@dataclass
class FitResult:
    """Best model (by mean source-val score) and the training history."""

    model: AdaptedScorer
    best_epoch: int
    source_val: float  # best mean source-val score, percent
    history: list[dict[str, Any]] = field(default_factory=list)


def sources_of(cfg: Config, target: str) -> list[str]:
    """The configured tasks minus the held-out target, in config order."""
    sources = [t for t in cfg.data.tasks if t != target]
    if not sources:
        raise ConfigError(f"data.tasks: no source task left for target {target} "
                          f"(data.tasks={cfg.data.tasks}); adaptation needs another task")
    return sources


@torch.no_grad()
def instance_scores(model: AdaptedScorer, data: TaskData, batch_size: int = 256) -> np.ndarray:
    """Per-instance headline score in percent over ``data.eval_idx``: 100 · credit of the
    argmax candidate, (N,)."""
    model.eval()
    idx = data.eval_idx
    out = np.zeros(len(idx), np.float32)
    for start in range(0, len(idx), batch_size):
        part = idx[start:start + batch_size]
        batch, credit = data.batch(part)
        scores, _ = model(batch)  # (B, C)
        pred = scores.argmax(1)  # (B,)
        out[start:start + len(part)] = 100.0 * credit[torch.arange(len(part)), pred].numpy()
    return out


def step_loss(model: AdaptedScorer, batch, credit: torch.Tensor, adapt: AdaptCfg) -> torch.Tensor:
    """The training objective on one batch (see the module docstring)."""
    scores, ab = model(batch)  # (B, C)
    loss = candidate_nce(scores, batch.cand_mask, credit, model.logit_scale)
    if adapt.in_batch_weight:
        best = credit.argmax(1)  # (B,) the true (highest-credit) statement
        valid = credit.max(1).values >= 1.0  # fully correct statements only
        true_stmt = ab.stmts[torch.arange(len(best)), best]  # (B, D)
        loss = loss + adapt.in_batch_weight * in_batch_nce(ab.image, true_stmt, valid,
                                                           model.logit_scale)
    if adapt.anchor_weight:
        loss = loss + adapt.anchor_weight * anchor_loss(batch, ab)
    if adapt.fusion_anchor_weight:
        loss = loss + adapt.fusion_anchor_weight * model.fusion_anchor()
    return loss


def anchor_loss(frozen: AlignBatch, adapted: AlignBatch) -> torch.Tensor:
    """Mean 1 − cos(adapted, frozen) over the real image, region, statement and keyword vectors.

    Keeps the adapted space close to CLIP's: the sources' loss alone may discard whatever does
    not separate *their* candidates (e.g. shape, when every source contrasts colours).
    """
    parts = [(frozen.image, adapted.image, None), (frozen.regions, adapted.regions,
                                                   frozen.region_mask),
             (frozen.stmts, adapted.stmts, frozen.cand_mask), (frozen.kws, adapted.kws,
                                                               frozen.kw_mask)]
    total = adapted.image.new_zeros(())
    for f, a, mask in parts:
        gap = 1.0 - (f * a).sum(-1)  # both L2-normalised: (...,)
        total = total + (gap.mean() if mask is None else
                         (gap * mask).sum() / mask.sum().clamp(min=1))
    return total / len(parts)


def fit(cfg: Config, adapt: AdaptCfg, store: TaskStore, target: str, seed: int = 0,
        on_epoch: EpochCallback | None = None, resume: dict[str, Any] | None = None,
        components: list[str] | None = None) -> FitResult:
    """Train on every task but ``target`` (train split), select on their val split.

    Args:
        cfg: experiment config (``data.tasks``, splits, ``align`` zero-shot settings).
        adapt: adaptation hyperparameters (may differ from ``cfg.adapt`` in a sweep).
        store: data access; ``target`` must be forbidden in it (the protocol checks reads).
        target: held-out task, never read here.
        seed: seeds initialisation and sampling.
        on_epoch: ``fn(epoch, metrics, state)`` after each epoch (Tune reports here).
        resume: a ``state`` dict from ``on_epoch`` to continue from (Tune restore).
        components: fine components to fuse (default: the config's non-zero ones).
    """
    with torch_threads(adapt.num_threads):
        return _fit(cfg, adapt, store, target, seed, on_epoch, resume, components)


def _fit(cfg: Config, adapt: AdaptCfg, store: TaskStore, target: str, seed: int,
         on_epoch: EpochCallback | None, resume: dict[str, Any] | None,
         components: list[str] | None) -> FitResult:
    sources = sources_of(cfg, target)
    train = {t: store.get(t, cfg.data.train_split) for t in sources}
    val = {t: store.get(t, cfg.data.val_split) for t in sources}
    for t, d in {**train, **{f"{k} (val)": v for k, v in val.items()}}.items():
        if len(d) == 0 or not d.eval_idx:
            raise ValueError(f"adaptation: no usable embedded rows for {t}")
    torch.manual_seed(seed)
    dim = int(train[sources[0]].batch([0])[0].image.shape[1])  # D
    model = AdaptedScorer(dim, adapt, cfg.align, components)
    opt = torch.optim.AdamW(model.parameters(), lr=adapt.lr, weight_decay=adapt.weight_decay)
    rng = np.random.default_rng(seed)
    weights = np.array([adapt.task_weights.get(t, 1.0) for t in sources], np.float64)
    probs = weights / weights.sum()
    steps = max(1, sum(len(d) for d in train.values()) // adapt.batch_size)
    best = {"epoch": 0, "score": _val_score(model, val), "state": _snapshot(model)}
    history: list[dict[str, Any]] = [{"epoch": 0, "source_val": best["score"]}]
    start, stale = 1, 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["opt"])
        rng.bit_generator.state = resume["rng"]
        best, history, stale = resume["best"], resume["history"], resume["stale"]
        start = resume["epoch"] + 1
    for epoch in range(start, adapt.epochs + 1):
        model.train()
        losses = []
        for _ in range(steps):
            t = sources[int(rng.choice(len(sources), p=probs))]
            idx = rng.choice(len(train[t]), size=min(adapt.batch_size, len(train[t])),
                             replace=False)
            batch, credit = train[t].batch(idx)
            loss = step_loss(model, batch, credit, adapt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        per_task = {t: float(instance_scores(model, val[t]).mean()) for t in sources}
        score = float(np.mean(list(per_task.values())))
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "source_val": score,
                        **{f"val_{t}": v for t, v in per_task.items()}, **model.describe()})
        if score > best["score"]:
            best, stale = {"epoch": epoch, "score": score, "state": _snapshot(model)}, 0
        else:
            stale += 1
        if on_epoch is not None:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                     "rng": rng.bit_generator.state, "best": best, "history": history,
                     "stale": stale}
            on_epoch(epoch, {"source_val": score, "per_task": per_task}, state)
        if stale >= adapt.patience:
            break
    model.load_state_dict(best["state"])
    return FitResult(model, best["epoch"], best["score"], history)


def _val_score(model: AdaptedScorer, val: dict[str, TaskData]) -> float:
    return float(np.mean([instance_scores(model, d).mean() for d in val.values()]))


def _snapshot(model: AdaptedScorer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def save_state(state: dict[str, Any], path: str | Path) -> None:
    """Write a training state (``on_epoch``'s ``state``) with ``torch.save``."""
    buf = io.BytesIO()
    torch.save(state, buf)
    Path(path).write_bytes(buf.getvalue())
