"""SNLI-VE as the held-out target: the TAP-C text-only classifier over adapted features.

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
from fgalign.align.stage import scoring_row
from fgalign.config import Config
from fgalign.tasks.snli_ve import fit_logreg, logits, pair_features, standardize, standardizer


def usable(rows: list[dict]) -> list[dict]:
    """Error-free rows with a hypothesis embedding and a label."""
    return [r for r in rows if not r.get("error") and r.get("stmt_embs") is not None
            and len(r["stmt_embs"]) and int(r.get("target", -1)) >= 0]


@torch.no_grad()
def features(model: AdaptedScorer, cfg: Config, rows: list[dict], text_premise: bool = False,
             batch_size: int = 256) -> np.ndarray:
    """Classifier features of SNLI-VE rows under ``model``: (N, F)."""
    model.eval()
    out = []
    for start in range(0, len(rows), batch_size):
        batch = collate([scoring_row(r, cfg.align) for r in rows[start:start + batch_size]])
        comps, ab = model.component_scores(batch, text_premise)
        p, h = ab.image.numpy(), ab.stmts[:, 0].numpy()  # (B, D), (B, D)
        c = np.stack([comps[k][:, 0].numpy() for k in model.components], 1) \
            if model.components else np.zeros((len(p), 0), np.float32)  # (B, m)
        out.append(pair_features(p, h, c, cfg.tasks.snli_ve.features))
    return np.concatenate(out)


def snli_ve_scores(cfg: Config, model: AdaptedScorer, store: TaskStore, target: str
                   ) -> np.ndarray:
    """Per-instance accuracy in percent (N,) on the usable rows of ``data.split`` of the
    classification ``target`` (SNLI-VE's text-only protocol, ``tasks.snli_ve`` settings)."""
    vc = cfg.tasks.snli_ve
    train = usable(store.rows(target, TRAIN_TEXT))
    val = [r for r in store.rows(target, cfg.data.val_split)
           if not r.get("error") and r.get("stmt_embs") is not None and len(r["stmt_embs"])]
    test = usable(store.rows(target, cfg.data.split))
    if not train or not test:
        raise ValueError("SNLI-VE target: no usable text-only train rows or test rows")
    x_tr = features(model, cfg, train, text_premise=True)
    y_tr = np.asarray([int(r["target"]) for r in train])
    st_tr = standardizer(x_tr)
    clf = fit_logreg(standardize(x_tr, st_tr), y_tr, vc.l2, vc.steps, cfg.experiment.seed)
    st_te = standardizer(features(model, cfg, val)) if vc.standardize == "domain" and val \
        else st_tr
    pred = logits(features(model, cfg, test), clf, st_te).argmax(1)  # (N,)
    y_te = np.asarray([int(r["target"]) for r in test])
    return (100.0 * (pred == y_te)).astype(np.float32)
