"""Fitting the SNLI-VE text-only classifiers and thresholds (``prepare_task``); no model here.

    fit = fit_snli_ve(cfg, ctx, runner, train_rows)   # {"protocol", "variants", "val"}

1. Train split, text only: the hypothesis and premise go through the ``keywords`` and ``embed``
   stages of the runner (its executor and caches); the premise caption plays the image,
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
from fgalign.gather import ImageRecords, hydrate, text_only_view
from fgalign.stages import calibration_rows
from fgalign.tasks.snli_ve import (
    fit_logreg,
    fit_thresholds,
    logits,
    row_features,
    standardize,
    standardizer,
    threshold_logits,
)
from fgalign.variants import Variant

TEXT_ONLY_SPLIT = "{split}:text-only"  # the input set of the text-only training rows


def text_only_input(rows: list[dict]) -> list[dict]:
    """Labelled train rows as the text-only protocol's input rows: statements [hypothesis,
    premise], no image (the ``keywords`` and ``embed`` stages run on them; no image stage)."""
    return [{"uid": r["uid"], "task": "snli_ve", "text": "", "statements": [r["text"], r["premise"]],
             "image_key": "", "target": int(r["target"]), "error": ""}
            for r in rows if not r.get("error") and r["target"] >= 0]


def fit_snli_ve(cfg: Config, ctx: dict, runner: Any, train: list[dict]) -> dict[str, Any]:
    """Classifiers / thresholds per variant for SNLI-VE (see the module docstring).

    ``runner`` (``fgalign.graph.Runner``) runs the text-only train rows through ``keywords``
    and ``embed`` and the val rows through the whole graph; the fit itself reads the scored
    rows and the tables only.

    Raises:
        ValueError: no labelled train row, or no labelled val row made it through the stages.
    """
    vc = cfg.tasks.snli_ve
    limit = vc.train_limit
    inputs = text_only_input(train[:limit] if limit is not None else train)
    if not inputs:
        raise ValueError("SNLI-VE text-only protocol: no labelled train row")
    split = TEXT_ONLY_SPLIT.format(split=cfg.data.train_split)
    run = runner.run_split("snli_ve", split, inputs, {"task": "snli_ve"}, stop_after="embed",
                           text_only=True)
    tr_rows = [r for r in text_only_view(list(run.iter_rows()), run.tables,
                                         cfg.keywords.max_keywords) if not r["error"]]
    y_tr = np.asarray([r["target"] for r in tr_rows])
    (split, val), = calibration_rows(cfg, "snli_ve")
    vrun = runner.run_split("snli_ve", split, val, {"task": "snli_ve"})
    val = [r for r in vrun.iter_rows() if not r["error"] and int(r["target"]) >= 0]
    if not val:
        raise ValueError("SNLI-VE: no labelled val row made it through the stages")
    val = hydrate(val, ImageRecords(vrun.image_records), vrun.tables, cfg.keywords.max_keywords)
    return fit_variants(cfg, tr_rows, y_tr, val)


def _scored_from_columns(rows: list[dict], keys: list[str], variants: list[str]) -> list[dict]:
    return [{**{k: np.asarray(r[f"scores_{k}"], np.float32) for k in keys},
             **{f"v:{v}": np.asarray(r[f"vscore_{v}"], np.float32) for v in variants}}
            for r in rows]


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
    out: dict[str, Any] = {"protocol": vc.protocol, "variants": {}, "val": {}}
    for v in scorer.variants:
        comps = Variant.parse(v).components(cfg.align)
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
