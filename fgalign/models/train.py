"""Contrastive training of a tiny open_clip ``CLIP`` from scratch on the caption corpus.

    cfg = TrainBackboneCfg(data="/tmp/world", out="fgalign/assets", steps=3000)
    result = train_backbone(cfg)        # writes <out>/<name>.{safetensors,json}, loss curve PNG

Loss: open_clip's ``ClipLoss`` on batches of scene captions (whole images) and object
captions (crops of distinct (colour, shape) keys, see ``fgalign.models.corpus``). Optimiser:
AdamW with weight decay on ≥2-D weights only, cosine schedule with warmup
(``open_clip_train.scheduler.cosine_lr``), logit scale clamped to ln(100) as in open_clip.
Augmentation: a random shift of up to ``shift`` pixels (edge-replicated); no flips (they
would break "left of") and no colour jitter (colour is the label).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip_train.scheduler import cosine_lr
from tqdm import tqdm

from fgalign.config import TrainBackboneCfg
from fgalign.models.bundle import DEFAULT_PREPROCESS, build_clip, save_bundle
from fgalign.models.corpus import CaptionCorpus
from fgalign.models.tokenizer import WordTokenizer, split_words


def model_config(cfg: TrainBackboneCfg, vocab_size: int, context_length: int) -> dict:
    """The open_clip model config of the tiny CLIP (``open_clip.CLIP(**model_config)``)."""
    return {
        "embed_dim": cfg.embed_dim,
        "vision_cfg": {"image_size": cfg.image_size, "patch_size": cfg.patch_size,
                       "width": cfg.vision_width, "layers": cfg.vision_layers, "head_width": 32},
        "text_cfg": {"context_length": context_length, "vocab_size": vocab_size,
                     "width": cfg.text_width, "heads": max(1, cfg.text_width // 32),
                     "layers": cfg.text_layers, "pool_type": "eos", "eos_id": 3},
    }


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        is_gain = p.ndim < 2 or "embedding" in name or "logit_scale" in name
        (no_decay if is_gain else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0},
            {"params": decay, "weight_decay": weight_decay}]


def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Random translation of each image by up to ``max_shift`` px. x: (B, 3, S, S) float."""
    if max_shift <= 0:
        return x
    s = x.shape[-1]
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")  # (B, 3, S+2m, S+2m)
    offs = torch.randint(0, 2 * max_shift + 1, (x.shape[0], 2), generator=gen)
    return torch.stack([padded[i, :, dy: dy + s, dx: dx + s] for i, (dy, dx) in
                        enumerate(offs.tolist())])


def train_backbone(cfg: TrainBackboneCfg, log: Callable[[dict, int], None] | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Trains the tiny CLIP and writes the bundle; returns a summary dict.

    Args:
        cfg: the training config.
        log: called as ``log(metrics, step)`` every ``cfg.log_every`` steps (e.g. W&B).
        progress: show tqdm bars.

    Returns:
        ``{"weights", "config", "loss_curve", "losses", "final_loss", "train_time_s", ...}``.
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    t0, cpu0 = time.time(), time.process_time()
    corpus = CaptionCorpus.load(cfg.data, cfg.split, cfg.image_size, cfg.crop_variants,
                                seed=cfg.seed, limit_images=cfg.limit_images, progress=progress)
    longest = max(len(split_words(c)) for c in corpus.captions)
    context = min(64, 8 * math.ceil((longest + 2) / 8))
    tokenizer = WordTokenizer.from_texts(corpus.captions, context_length=context)
    tokens = tokenizer(corpus.captions)  # (C, L)
    model_cfg = model_config(cfg, tokenizer.vocab_size, context)
    model = build_clip(model_cfg, seed=cfg.seed).train()
    pre = dict(DEFAULT_PREPROCESS, size=cfg.image_size)
    mean = torch.tensor(pre["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(pre["std"]).view(1, 3, 1, 1)
    loss_fn = open_clip.ClipLoss()
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                            betas=(0.9, 0.98), eps=1e-6)
    schedule = cosine_lr(opt, cfg.lr, cfg.warmup, cfg.steps)
    prep_s, losses = time.time() - t0, []
    bar = tqdm(range(cfg.steps), desc="train-backbone", unit="step", disable=not progress)
    for step in bar:
        schedule(step)
        renders, caps = corpus.sample(rng, cfg.scenes_per_batch, cfg.crops_per_batch)
        x = corpus.pixels[renders].float().div_(255)  # (B, 3, S, S)
        x = (_shift(x, cfg.shift, gen) - mean) / std
        img, txt, scale = model(x, tokens[caps])  # (B, D), (B, D), ()
        loss = loss_fn(img, txt, scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            recent = float(np.mean(losses[-cfg.log_every:]))
            bar.set_postfix(loss=f"{recent:.3f}", scale=f"{scale.item():.1f}")
            if log is not None:
                log({"train/loss": recent, "train/logit_scale": scale.item(),
                     "train/lr": opt.param_groups[0]["lr"]}, step)
    train_s, cpu_s = time.time() - t0, time.process_time() - cpu0
    final = float(np.mean(losses[-cfg.log_every:]))
    summary = {"final_loss": round(final, 4), "train_time_s": round(train_s, 1),
               "prepare_time_s": round(prep_s, 1),
               "cpu_time_s": round(cpu_s, 1), "images": len(corpus.scenes),
               "captions": len(corpus.captions), "renders": int(corpus.pixels.shape[0]),
               "params": sum(p.numel() for p in model.parameters())}
    config = {"name": cfg.name, "model_cfg": model_cfg, "preprocess": pre,
              "tokenizer": tokenizer.to_dict(),
              "provenance": {"train_cfg": asdict(cfg), **summary, **cfg.extra}}
    weights = save_bundle(Path(cfg.out) / cfg.name, model.eval(), config)
    curve = plot_losses(losses, Path(cfg.out) / f"{cfg.name}_loss.png", cfg.log_every)
    return {"weights": str(weights), "config": str(weights.with_suffix(".json")),
            "loss_curve": str(curve), "losses": losses, **summary}


def plot_losses(losses: list[float], path: Path, window: int = 50) -> Path:
    """Saves the loss curve (raw and moving average) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, alpha=0.3, label="loss")
    if len(losses) >= window:
        ax.plot(np.arange(window - 1, len(losses)),
                np.convolve(losses, np.ones(window) / window, mode="valid"),
                label=f"mean of {window}")
    ax.set_xlabel("step"), ax.set_ylabel("ClipLoss"), ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
