"""Driver-side fitting of the SNLI-VE text-only classifiers and thresholds (``prepare_task``).

    fit = fit_snli_ve(cfg, ctx)   # {"protocol", "variants": {variant: {...}}, "val": {...}}

1. Train split, text only: keywords of each hypothesis and premise (the keyword stage), text
   embeddings (the embed stage's cached ``embed_texts``); the premise caption plays the image,
   its noun phrases play the regions and their tags; the score stage's ``score_rows`` gives
   the component scores. One logistic regression per variant on those features.
2. Val split, through the whole stage graph (images): unlabelled feature statistics for the
   ``domain`` standardisation, the threshold rule of ``protocol="threshold"``, and the val
   accuracy of both protocols (recorded in the context, for choosing defaults on val).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.config import Config, to_dict
from fgalign.rowguard import RowGuard
from fgalign.tasks.snli_ve import (
    fit_logreg,
    fit_thresholds,
    logits,
    premise_as_rows,
    row_features,
    standardize,
    standardizer,
    threshold_logits,
    variant_components,
)


def _struct(hyp_emb, kws: list[str], table: dict, dim: int) -> dict[str, Any]:
    k = len(kws)
    kw_embs = np.stack([table[w] for w in kws])[None] if k else np.zeros((1, 0, dim), np.float32)
    return {"stmt_embs": hyp_emb[None], "kw_embs": kw_embs, "kw_mask": np.ones((1, k), bool),
            "keywords": [kws], "cand_group": [0]}


def text_only_rows(rows: list[dict], keyword_stage: Any, embedder: Any) -> list[dict]:
    """Scorer rows of the text-only protocol (premise text in place of the image)."""
    from fgalign.stages import rows_to_batch

    batch = rows_to_batch([{"statements": [r["text"], r["premise"]], "text": "", "error": "",
                            "uid": r.get("uid", "")} for r in rows])
    # a row whose texts the extractor cannot parse (e.g. past spaCy's max_length) keeps its
    # row with no keywords (logged by the guard) rather than failing the whole fit
    kws = RowGuard("keywords")(keyword_stage, batch)["keywords"]  # [] for such a row
    hyp_kws = [list(k[0]) if len(k) else [] for k in kws]
    phrases = [[p for p in k[1] if " " in p] or list(k[1]) if len(k) > 1 else [] for k in kws]
    texts = [r["text"] for r in rows] + [r["premise"] for r in rows]
    table = embedder.embed_texts(texts + [w for k in hyp_kws for w in k]
                                 + [p for k in phrases for p in k])
    dim = embedder.dim
    hyp = [_struct(table[r["text"]], hk, table, dim) for r, hk in zip(rows, hyp_kws)]
    prem = np.stack([table[r["premise"]] for r in rows])
    ph = [np.stack([table[p] for p in ps]) if ps else np.zeros((0, dim), np.float32)
          for ps in phrases]
    return premise_as_rows(prem, ph, hyp)


def _scored_from_columns(rows: list[dict], keys: list[str], variants: list[str]) -> list[dict]:
    return [{**{k: np.asarray(r[f"scores_{k}"], np.float32) for k in keys},
             **{f"v:{v}": np.asarray(r[f"vscore_{v}"], np.float32) for v in variants}}
            for r in rows]


def fit_snli_ve(cfg: Config, ctx: dict) -> dict[str, Any]:
    """Classifiers / thresholds per variant for SNLI-VE (see the module docstring)."""
    from fgalign.stages import build_stage_specs, load_task_rows, run_stages

    vc = cfg.tasks.snli_ve
    specs = build_stage_specs(cfg, "snli_ve", {})  # no classifier yet: scores stay (1,)
    train = [r for r in load_task_rows(cfg, "snli_ve", ctx, cfg.data.train_split, vc.train_limit)
             if not r["error"] and r["target"] >= 0]
    if not train:
        raise ValueError("SNLI-VE text-only protocol: no labelled train row")
    tr_rows = text_only_rows(train, specs[1].cls(**specs[1].kwargs),
                             specs[2].cls(**specs[2].kwargs))
    y_tr = np.asarray([r["target"] for r in train])
    val = load_task_rows(cfg, "snli_ve", ctx, cfg.data.val_split, vc.val_limit)
    val = [r for r in run_stages(specs, val, desc="snli_ve val") if not r["error"]
           and r["target"] >= 0]
    if not val:
        raise ValueError("SNLI-VE: no labelled val row made it through the stages")
    return fit_variants(cfg, tr_rows, y_tr, val)


def fit_variants(cfg: Config, tr_rows: list[dict], y_tr: np.ndarray, val: list[dict]
                 ) -> dict[str, Any]:
    """Fit every variant from text-only train rows and val rows that went through the stages."""
    from fgalign.align.stage import AlignmentScorer

    vc = cfg.tasks.snli_ve
    scorer = AlignmentScorer("snli_ve", to_dict(cfg.align), {})
    keys = ["global"] + [c for c in cfg.align.components if c != "global"]
    tr_scored = scorer.score_rows(tr_rows)
    va_scored = _scored_from_columns(val, keys, scorer.variants)
    y_va = np.asarray([r["target"] for r in val])
    active = [c for c in cfg.align.components if cfg.align.weights.get(c, 0.0)]
    out: dict[str, Any] = {"protocol": vc.protocol, "variants": {}, "val": {}}
    for v in scorer.variants:
        comps = variant_components(v, active)
        x_tr = row_features(tr_rows, tr_scored, comps, vc.features)
        st_tr = standardizer(x_tr)
        clf = fit_logreg(standardize(x_tr, st_tr), y_tr, vc.l2, vc.steps, cfg.experiment.seed)
        x_va = row_features(val, va_scored, comps, vc.features)
        st_te = standardizer(x_va) if vc.standardize == "domain" else st_tr
        s_va = np.asarray([float(s[f"v:{v}"][0]) for s in va_scored], np.float32)
        th = fit_thresholds(s_va, y_va)
        out["variants"][v] = {"components": comps, "features": vc.features, "classifier": clf,
                              "test_stats": st_te, "thresholds": th}
        out["val"][v] = {  # threshold: fitted on these val rows (in-sample)
            "text_only": round(float(100 * np.mean(logits(x_va, clf, st_te).argmax(1) == y_va)), 2),
            "threshold": round(float(100 * np.mean(threshold_logits(s_va, th).argmax(1) == y_va)), 2),
            "train_fit": round(float(100 * np.mean(logits(x_tr, clf, st_tr).argmax(1) == y_tr)), 2),
        }
    return out
