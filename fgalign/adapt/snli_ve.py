"""SNLI-VE as the held-out target: the TAP-C text-only classifier over adapted features.

The adaptation protocol ``"text_only_classifier"`` (``Task.adapt_protocol``; SNLI-VE declares
it): a classification target is read and scored as below, with the settings of its own
config section (``cfg.tasks.<target>``: ``features``, ``compose_logit``, ``l2``, ``steps``,
``standardize``, as ``fgalign.tasks.snli_ve.SNLIVECfg``).

SNLI-VE's candidates are its three labels, not statements to rank, so the zero-shot method
predicts them with a classifier fitted on the *train* premise *captions* (text only) and
applied with the *image* in the premise's place (``fgalign.tasks.snli_ve``; features
``[p*h, |p-h|, p, h, cos(p, h), component scores]``). The adapted scorer plugs into exactly
that protocol: the caption premise and its noun phrases pass the *text* adapter, the image and
its regions the *image* adapter, hypotheses and keywords the text adapter; component scores use
the learned τ. The classifier is then refitted on the adapted training text and applied to the
adapted test images, with the val images' (unlabelled) feature statistics for standardisation,
as the zero-shot protocol does. The identity model reproduces the zero-shot ``fusion`` variant.

Reads (all at the final evaluation, after the guard releases SNLI-VE): ``snli_ve/train_text``
(text-only rows: caption as ``image_emb``, phrases as ``region_embs`` / ``tag_embs``),
``snli_ve/<val split>`` and ``snli_ve/<eval split>`` embedded rows.
"""
from __future__ import annotations

import numpy as np
import torch

from fgalign.adapt.data import TRAIN_TEXT, TaskStore
from fgalign.adapt.module import AdaptedScorer
from fgalign.align import collate
from fgalign.align.rows import scoring_row
from fgalign.align.scores import COMPOSE_KINDS
from fgalign.config import Config
from fgalign.tasks.snli_ve import (
    fit_logreg,
    logits,
    pair_features,
    shifted,
    standardize,
    standardizer,
)


def usable(rows: list[dict]) -> list[dict]:
    """Error-free rows with a hypothesis embedding and a label."""
    return [r for r in rows if not r.get("error") and r.get("stmt_embs") is not None
            and len(r["stmt_embs"]) and int(r.get("target", -1)) >= 0]


@torch.no_grad()
def features(model: AdaptedScorer, cfg: Config, rows: list[dict], text_premise: bool = False,
             batch_size: int = 256, target: str = "snli_ve") -> tuple[np.ndarray, np.ndarray]:
    """Classifier features of SNLI-VE rows under ``model``, (N, F), and the entailment-logit
    shift (N,) of the compositional components and the pairwise term.

    As in the zero-shot protocol (``fgalign.tasks.snli_ve.compose_shift``), ``count`` /
    ``size`` / ``relation`` are not classifier features (the text-only training rows have no
    boxes, so they would never carry evidence there): λ_c·``compose_logit``·δ_c, with the
    model's λ_c, shifts the logits instead; the pairwise term (a score on the statement like
    δ_c) is shifted the same way, ``compose_logit``·term. Text-premise rows get no shift.
    """
    model.eval()
    out, shift = [], []
    feats = [k for k in model.components if k not in COMPOSE_KINDS]
    lam = dict(zip(model.components, model.fusion.tolist()))
    vc = getattr(cfg.tasks, target)  # the target's section (module docstring)
    scale = vc.compose_logit
    for start in range(0, len(rows), batch_size):
        batch = collate([scoring_row(r, cfg.align) for r in rows[start:start + batch_size]])
        comps, ab = model.component_scores(batch, text_premise)
        p, h = ab.image.numpy(), ab.stmts[:, 0].numpy()  # (B, D), (B, D)
        c = np.stack([comps[k][:, 0].numpy() for k in feats], 1) \
            if feats else np.zeros((len(p), 0), np.float32)  # (B, m)
        out.append(pair_features(p, h, c, vc.features))
        s = np.zeros(len(p), np.float32)
        if not text_premise:
            for k in model.components:
                if k in COMPOSE_KINDS:  # δ_k = component − global (0 without evidence)
                    s += lam[k] * scale * (comps[k][:, 0] - comps["global"][:, 0]).numpy()
            pair = model.pair_term(ab)
            if pair is not None:
                s += scale * pair[:, 0].numpy()
        shift.append(s)
    return np.concatenate(out), np.concatenate(shift)


def snli_ve_scores(cfg: Config, model: AdaptedScorer, store: TaskStore, target: str
                   ) -> np.ndarray:
    """Per-instance accuracy in percent (N,) on the usable rows of ``data.split`` of the
    classification ``target`` (the text-only protocol, ``cfg.tasks.<target>`` settings)."""
    vc = getattr(cfg.tasks, target)
    train = usable(store.rows(target, TRAIN_TEXT))
    val = [r for r in store.rows(target, cfg.data.val_split)
           if not r.get("error") and r.get("stmt_embs") is not None and len(r["stmt_embs"])]
    test = usable(store.rows(target, cfg.data.split))
    if not train or not test:
        raise ValueError(f"{target} target: no usable text-only train rows or test rows")
    x_tr, _ = features(model, cfg, train, text_premise=True, target=target)
    y_tr = np.asarray([int(r["target"]) for r in train])
    st_tr = standardizer(x_tr)
    clf = fit_logreg(standardize(x_tr, st_tr), y_tr, vc.l2, vc.steps, cfg.experiment.seed)
    st_te = standardizer(features(model, cfg, val, target=target)[0]) \
        if vc.standardize == "domain" and val \
        else st_tr
    x_te, shift = features(model, cfg, test, target=target)
    pred = shifted(logits(x_te, clf, st_te), shift).argmax(1)  # (N,)
    y_te = np.asarray([int(r["target"]) for r in test])
    return (100.0 * (pred == y_te)).astype(np.float32)
