"""SNLI-VE: TAP-C text-only protocol (train on premise *text*, test on the *image*) + threshold.

Each row has one statement, the hypothesis (group 0, ``labels = [target]``); the scorer's
components give one scalar per row and component. Per variant (``global``,
``global+<component>``, ``fusion``) a classifier maps features to the 3 labels:

    features = [p*h, |p-h|, p, h, cos(p, h), component scores of the variant]

where h is the hypothesis embedding and p the premise: at training time the premise caption's
text embedding, with its noun phrases standing in for regions and tags (text-only protocol);
at test time the image embedding, with region crops and their tags. Features are standardised
per domain (``standardize="domain"``: text statistics for training, image statistics of the
unlabelled val rows at test time — the modality gap shifts every feature) or with the training
statistics only (``"train"``). The classifier is a multinomial logistic regression (L-BFGS,
L2, fixed seed).

``protocol="threshold"`` is training-free: the variant's fused score s is cut at two
thresholds into three bins, each mapped to a label; cuts and mapping maximise val accuracy.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch

from fgalign.schema import SNLI_VE_LABELS


def add_snli_ve_statements(rows: list[dict]) -> list[dict]:
    """``statements = [hypothesis]``, ``cand_group = [0]``, ``labels = [target]``."""
    for r in rows:
        ok = not r.get("error")
        r["statements"] = [r["text"]] if ok else []
        r["cand_group"] = [0] if ok else []
        r["labels"] = [int(r.get("target", -1))]
    return rows


def pair_features(p: np.ndarray, h: np.ndarray, comps: np.ndarray, kind: str = "pair"
                  ) -> np.ndarray:
    """Features of premises p (N, D), hypotheses h (N, D) and component scores (N, m).

    ``kind="pair"``: [p*h, |p-h|, p, h, cos, comps] (N, 4D + 1 + m); ``"scores"``: [cos, comps]
    plus the hypothesis h (N, D + 1 + m) — the text alone tells neutral claims apart;
    ``"gated"``: ``scores`` plus h ⊗ [cos, comps] (N, (D + 1)(1 + m)), so how much a score
    counts can depend on what the hypothesis claims (a region score says much about "there is
    a red circle", nothing about a count).
    """
    cos = (p * h).sum(-1, keepdims=True)  # (N, 1)
    scores = np.concatenate([cos, comps], 1)  # (N, 1 + m)
    parts = [p * h, np.abs(p - h), p, h] if kind == "pair" else [h]
    if kind == "gated":
        parts.append((h[:, :, None] * scores[:, None, :]).reshape(len(h), -1))  # (N, D(1+m))
    return np.concatenate(parts + [scores], 1).astype(np.float32)


def row_features(rows: list[dict], scored: list[dict], comps: list[str], kind: str = "pair"
                 ) -> np.ndarray:
    """Features of scored rows (premise = ``image_emb``, hypothesis = ``stmt_embs[0]``)."""
    from fgalign.align.batch import to_array

    p = np.stack([to_array(r["image_emb"], 1) for r in rows])
    h = np.stack([to_array(r["stmt_embs"], 2)[0] for r in rows])
    c = np.asarray([[float(s[k][0]) for k in comps] for s in scored], np.float32)
    return pair_features(p, h, c.reshape(len(rows), len(comps)), kind)


def premise_as_rows(premise_embs: np.ndarray, phrase_embs: list[np.ndarray],
                    hyp_rows: list[dict]) -> list[dict]:
    """Scorer rows for the text-only protocol: the premise text stands in for the image.

    Args:
        premise_embs: (N, D) premise caption embeddings (→ ``image_emb``).
        phrase_embs: per row (P, D) premise noun-phrase embeddings (→ regions and tags).
        hyp_rows: per row the hypothesis columns ``stmt_embs`` (1, D), ``kw_embs``, ``kw_mask``.
    """
    return [dict(h, image_emb=p, region_embs=ph, tag_embs=ph)
            for p, ph, h in zip(premise_embs, phrase_embs, hyp_rows)]


def standardizer(x: np.ndarray) -> dict[str, list[float]]:
    """Per-feature mean and std (std floored at 1e-6)."""
    return {"mu": x.mean(0).tolist(), "sd": np.maximum(x.std(0), 1e-6).tolist()}


def standardize(x: np.ndarray, st: dict) -> np.ndarray:
    """``(x - mu) / sd`` with the statistics of ``standardizer``, float32."""
    return ((x - np.asarray(st["mu"], np.float32)) / np.asarray(st["sd"], np.float32)
            ).astype(np.float32)


def fit_logreg(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 100,
               seed: int = 0) -> dict[str, list]:
    """Multinomial logistic regression on standardised features: ``{"W": (F, 3), "b": (3,)}``."""
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    lin = torch.nn.Linear(x.shape[1], len(SNLI_VE_LABELS))
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(xt), yt) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return {"W": lin.weight.detach().T.tolist(), "b": lin.bias.detach().tolist()}


def logits(x: np.ndarray, clf: dict, st: dict) -> np.ndarray:
    """(N, 3) class logits of raw features ``x`` standardised with ``st``."""
    return standardize(x, st) @ np.asarray(clf["W"], np.float32) + np.asarray(clf["b"], np.float32)


def fit_thresholds(s: np.ndarray, y: np.ndarray, grid: int = 41) -> dict[str, list]:
    """Two cuts on score ``s`` and a label per bin maximising accuracy on (s, y)."""
    qs = np.quantile(s, np.linspace(0.0, 1.0, grid))
    best = (-1.0, None)
    for i, j in itertools.combinations_with_replacement(range(grid), 2):
        bins = np.digitize(s, [qs[i], qs[j]])  # 0, 1, 2
        for order in itertools.permutations(range(3)):
            acc = float(np.mean(np.asarray(order)[bins] == y))
            if acc > best[0]:
                best = (acc, {"cuts": [float(qs[i]), float(qs[j])], "order": list(order)})
    return best[1]


def threshold_logits(s: np.ndarray, th: dict) -> np.ndarray:
    """(N, 3) one-hot logits of the threshold rule."""
    label = np.asarray(th["order"])[np.digitize(s, th["cuts"])]
    return np.eye(len(SNLI_VE_LABELS), dtype=np.float32)[label]


def classify_rows(rows: list[dict], scored: list[dict], variants: list[str], ctx: dict
                  ) -> list[dict]:
    """Replace each variant's (1,) fused score with (3,) class logits (no-op without a fit)."""
    fit = ctx.get("snli_ve")
    if not fit:
        return scored
    for v in variants:
        spec = fit["variants"][v]
        if fit["protocol"] == "threshold":
            s = np.asarray([float(x[f"v:{v}"][0]) for x in scored], np.float32)
            out = threshold_logits(s, spec["thresholds"])
        else:
            x = row_features(rows, scored, spec["components"], spec["features"])
            out = logits(x, spec["classifier"], spec["test_stats"])
        for j, x in enumerate(scored):
            x[f"v:{v}"] = out[j].astype(np.float32)
    return scored
