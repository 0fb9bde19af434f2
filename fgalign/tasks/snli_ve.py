"""SNLI-VE: TAP-C text-only protocol (train on premise *text*, test on the *image*) + threshold.

Each row has one statement, the hypothesis (group 0, ``labels = [target]``); the scorer's
components give one scalar per row and component. Per variant (``global``,
``global+<component>``, ``fusion``) a classifier maps features to the 3 labels:

    features = [p*h, |p-h|, p, h, cos(p, h), component scores of the variant]

where h is the hypothesis embedding and p the premise (a component without its evidence — no
region, or a hypothesis without keywords, ``fgalign.align.scores`` — is masked: its features are
0 after standardisation, the mean, and left out of the statistics): at training time the premise caption's
text embedding, with its noun phrases standing in for regions and tags (text-only protocol);
at test time the image embedding, with region crops and their tags. Features are standardised
per domain (``standardize="domain"``: text statistics for training, image statistics of the
unlabelled val rows at test time — the modality gap shifts every feature) or with the training
statistics only (``"train"``). The classifier is a multinomial logistic regression (L-BFGS,
L2, fixed seed).

``protocol="threshold"`` is training-free: the variant's fused score s is cut at two
thresholds into three bins, each mapped to a label; cuts and mapping maximise val accuracy.

Calibration (``SNLIVE.calibrate``, no model in the driver):

1. Train split, text only: the hypothesis and premise go through the ``keywords`` and ``embed``
   stages of the runner (its executor and caches); the premise caption plays the image,
   its noun phrases play the regions and their tags; ``score_rows`` gives the component
   scores. One logistic regression per variant on those features.
2. Val split, through the whole stage graph (images): unlabelled feature statistics for the
   ``domain`` standardisation, the threshold rule of ``protocol="threshold"``, and the val
   accuracy of both protocols (recorded in the context, for choosing defaults on val).

Credit: accuracy over the 3 labels; metrics add ``per_class``, ``protocol`` and ``val``.
Adaptation: the rows are classes, not candidate statements (``label_classes``); adaptation
items pair each premise's entailed and contradicted hypotheses (``fgalign.adapt.data``).
"""
from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np

from fgalign.align.batch import to_array
from fgalign.align.columns import COMPOSE_KINDS, scored_columns
from fgalign.align.rows import score_rows
from fgalign.config import Config, Section
from fgalign.data.snli_ve import read_snli_ve
from fgalign.engine.gather import ImageRecords, hydrate, text_only_view
from fgalign.metrics import per_class_accuracy
from fgalign.numbers import Count, NonNegative, Size
from fgalign.schema import SNLI_VE_LABELS
from fgalign.tasks.base import Task, register_task
from fgalign.threads import torch_threads
from fgalign.variants import Variant, score_column, variant_column, variant_names


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

    p = np.stack([to_array(r["image_emb"], 1) for r in rows])
    h = np.stack([to_array(r["stmt_embs"], 2)[0] for r in rows])
    c = np.asarray([[float(s[score_column(k)][0]) for k in comps] for s in scored], np.float32)
    return pair_features(p, h, c.reshape(len(rows), len(comps)), kind)


REGION_BASED = ("region_word", "region_sentence", "tag_text")  # need regions (fgalign.align)


def missing_components(scored: list[dict], comps: list[str]) -> np.ndarray:
    """(N, m) bool: component j of row i had no evidence (``no_regions``: every region-based
    component; ``no_keywords``: ``region_word``; ``no_<c>``: the compositional component c,
    ``fgalign.align.compose``), so its score is the global fallback."""
    out = np.zeros((len(scored), len(comps)), bool)
    for i, s in enumerate(scored):
        for j, c in enumerate(comps):
            out[i, j] = (bool(s.get("no_regions", False)) and c in REGION_BASED) or (
                c == "region_word" and int(s.get("no_keywords", 0) or 0) > 0) or (
                c in COMPOSE_KINDS and (bool(s.get("no_regions", False))
                                        or int(s.get(f"no_{c}", 1) or 0) > 0))
    return out


def compose_shift(scored: list[dict], weights: dict[str, float]) -> np.ndarray:
    """(N,) Σ_c w_c·δ_c over the compositional components c of ``weights`` that have evidence
    in row i (δ_c = score_c − global, ``fgalign.align.compose``; 0 without evidence).

    The text-only training rows have no boxes, so the classifier never sees these features;
    ``classify_rows`` adds this shift to the entailment logit and subtracts it from the
    contradiction logit instead (training-free; ``w_c`` = λ_c·``compose_logit``).
    """
    out = np.zeros(len(scored), np.float32)
    for c, w in weights.items():
        for i, s in enumerate(scored):
            if int(s.get(f"no_{c}", 1) or 0) == 0 and not bool(s.get("no_regions", False)):
                out[i] += w * (float(s[score_column(c)][0]) - float(s[score_column("global")][0]))
    return out


def shifted(logit: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(N, 3) logits with ``shift`` added to entailment and taken from contradiction."""
    out = np.array(logit, np.float32, copy=True)
    out[:, SNLI_VE_LABELS.index("entailment")] += shift
    out[:, SNLI_VE_LABELS.index("contradiction")] -= shift
    return out


def feature_mask(missing: np.ndarray, dim: int, kind: str) -> np.ndarray:
    """(N, F) bool: the features of ``pair_features`` (hypothesis width ``dim``) that carry a
    missing component score — its own column and, for ``gated``, its products with h."""
    n = len(missing)
    scores = np.concatenate([np.zeros((n, 1), bool), missing], 1)  # (N, 1 + m): cos is real
    lead = {"pair": 4 * dim, "scores": dim, "gated": dim}[kind]
    parts = [np.zeros((n, lead), bool)]
    if kind == "gated":
        parts.append(np.repeat(scores[:, None, :], dim, 1).reshape(n, -1))  # (N, D(1+m))
    return np.concatenate(parts + [scores], 1)


def masked_features(rows: list[dict], scored: list[dict], comps: list[str], kind: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``row_features`` and their ``feature_mask`` (missing evidence)."""
    x = row_features(rows, scored, comps, kind)
    dim = to_array(rows[0]["stmt_embs"], 2).shape[1]
    return x, feature_mask(missing_components(scored, comps), dim, kind)


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


def standardizer(x: np.ndarray, mask: np.ndarray | None = None) -> dict[str, list[float]]:
    """Per-feature mean and std (std floored at 1e-6), over the entries not in ``mask``
    (missing evidence, ``feature_mask``; a feature masked on every row: over all rows)."""
    if mask is None or not mask.any():
        return {"mu": x.mean(0).tolist(), "sd": np.maximum(x.std(0), 1e-6).tolist()}
    keep = ~mask
    keep[:, ~keep.any(0)] = True
    w = keep.astype(np.float64)
    mu = (x * w).sum(0) / w.sum(0)
    sd = np.sqrt((((x - mu) ** 2) * w).sum(0) / w.sum(0))
    return {"mu": mu.tolist(), "sd": np.maximum(sd, 1e-6).tolist()}


def standardize(x: np.ndarray, st: dict, mask: np.ndarray | None = None) -> np.ndarray:
    """``(x - mu) / sd`` with the statistics of ``standardizer``, float32; entries in ``mask``
    (missing evidence) are 0, the mean: a missing component is no evidence either way."""
    z = ((x - np.asarray(st["mu"], np.float32)) / np.asarray(st["sd"], np.float32)
         ).astype(np.float32)
    return z if mask is None else np.where(mask, np.float32(0.0), z)


def fit_logreg(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 100,
               seed: int = 0) -> dict[str, list]:
    """Multinomial logistic regression on standardised features: ``{"W": (F, 3), "b": (3,)}``.

    L-BFGS on one torch thread: with other thread counts a reduction takes other paths and
    the weights move (one feature: by a float32 step), so the metrics would depend on the
    machine's cores (``fgalign.threads``)."""
    import torch

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

    with torch_threads(1):  # the same weights on every machine (fgalign.threads)
        opt.step(closure)
    return {"W": lin.weight.detach().T.tolist(), "b": lin.bias.detach().tolist()}


def logits(x: np.ndarray, clf: dict, st: dict, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) class logits of raw features ``x`` standardised with ``st`` (``mask``: missing
    evidence, see ``standardize``)."""
    return (standardize(x, st, mask) @ np.asarray(clf["W"], np.float32)
            + np.asarray(clf["b"], np.float32))


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
            s = np.asarray([float(x[variant_column(v)][0]) for x in scored], np.float32)
            out = threshold_logits(s, spec["thresholds"])
        else:
            x, mask = masked_features(rows, scored, spec["components"], spec["features"])
            out = logits(x, spec["classifier"], spec["test_stats"], mask)
            if spec.get("compose"):
                out = shifted(out, compose_shift(scored, spec["compose"]))
        for j, x in enumerate(scored):
            x[variant_column(v)] = out[j].astype(np.float32)
    return scored


TEXT_ONLY_SPLIT = "{split}:text-only"  # the input set of the text-only training rows


def text_only_input(rows: list[dict]) -> list[dict]:
    """Labelled train rows as the text-only protocol's input rows: statements [hypothesis,
    premise], no image (the ``keywords`` and ``embed`` stages run on them; no image stage)."""
    return [{"uid": r["uid"], "task": "snli_ve", "text": "", "statements": [r["text"], r["premise"]],
             "image_key": "", "target": int(r["target"]), "error": ""}
            for r in rows if not r.get("error") and r["target"] >= 0]


def text_only_set(cfg: Config, train: list[dict]) -> tuple[str, list[dict]]:
    """The text-only training input set: its name and the first ``tasks.snli_ve.train_limit``
    train rows as ``text_only_input`` rows (the calibration and the adaptation caches share it)."""
    limit = cfg.tasks.snli_ve.train_limit
    return (TEXT_ONLY_SPLIT.format(split=cfg.data.train_split),
            text_only_input(train[:limit] if limit is not None else train))


def calibration_runs(cfg: Config, train: list[dict], val_sets: list[tuple[str, list[dict]]]
                     ) -> list[dict]:
    """The two input sets the fit scores (``fgalign.experiment.plan.RunRequest`` fields): the
    text-only train rows through ``embed``, and the val rows through the whole graph."""
    split, inputs = text_only_set(cfg, train)
    (vsplit, val), = val_sets
    return [{"split": split, "rows": inputs, "ctx": {"task": "snli_ve"}, "stop_after": "embed",
             "text_only": True},
            {"split": vsplit, "rows": val, "ctx": {"task": "snli_ve"}}]


def fit_snli_ve(cfg: Config, runs: list[Any]) -> dict[str, Any]:
    """Classifiers / thresholds per variant for SNLI-VE (see "Calibration" above).

    ``runs``: the two ``fgalign.engine.runner.SplitRun`` s of ``calibration_runs`` (the
    text-only train rows through ``keywords`` and ``embed``, the val rows through the whole
    graph; ``SNLIVE.calibration_sets``); the fit reads the scored rows and the tables only.

    Raises:
        ValueError: no labelled train row, or no labelled val row made it through the stages.
    """
    if len(runs) != 2 or not runs[0].n:
        raise ValueError("SNLI-VE text-only protocol: no labelled train row")
    run, vrun = runs
    tr_rows = [r for r in text_only_view(list(run.iter_rows()), run.tables,
                                         cfg.keywords.max_keywords) if not r["error"]]
    y_tr = np.asarray([r["target"] for r in tr_rows])
    val = [r for r in vrun.iter_rows() if not r["error"] and int(r["target"]) >= 0]
    if not val:
        raise ValueError("SNLI-VE: no labelled val row made it through the stages")
    val = hydrate(val, ImageRecords(vrun.image_records), vrun.tables, cfg.keywords.max_keywords)
    return fit_variants(cfg, tr_rows, y_tr, val)


def fit_variants(cfg: Config, tr_rows: list[dict], y_tr: np.ndarray, val: list[dict]
                 ) -> dict[str, Any]:
    """Fit every variant from text-only train rows and val rows that went through the stages."""
    vc = cfg.tasks.snli_ve
    variants = variant_names(cfg.align)
    tr_scored = score_rows(tr_rows, cfg.align)
    va_scored = scored_columns(val, cfg.align)
    y_va = np.asarray([r["target"] for r in val])
    out: dict[str, Any] = {"protocol": vc.protocol, "variants": {}, "val": {}}
    for v in variants:
        comps = Variant.parse(v).components(cfg.align)
        x_tr, m_tr = masked_features(tr_rows, tr_scored, comps, vc.features)
        st_tr = standardizer(x_tr, m_tr)
        clf = fit_logreg(standardize(x_tr, st_tr, m_tr), y_tr, vc.l2, vc.steps,
                         cfg.experiment.seed)
        x_va, m_va = masked_features(val, va_scored, comps, vc.features)
        st_te = standardizer(x_va, m_va) if vc.standardize == "domain" else st_tr
        s_va = np.asarray([float(s[variant_column(v)][0]) for s in va_scored], np.float32)
        th = fit_thresholds(s_va, y_va)
        compose = {c: float(cfg.align.weights[c]) * vc.compose_logit for c in comps
                   if c in COMPOSE_KINDS}
        out["variants"][v] = {"components": comps, "features": vc.features, "classifier": clf,
                              "test_stats": st_te, "thresholds": th, "compose": compose}
        va_logits = shifted(logits(x_va, clf, st_te, m_va), compose_shift(va_scored, compose))
        out["val"][v] = {  # threshold: fitted on these val rows (in-sample)
            "text_only": round(float(100 * np.mean(va_logits.argmax(1) == y_va)), 2),
            "threshold": round(float(100 * np.mean(threshold_logits(s_va, th).argmax(1) == y_va)), 2),
            "train_fit": round(float(100 * np.mean(
                logits(x_tr, clf, st_tr, m_tr).argmax(1) == y_tr)), 2),
        }
    return out


class SNLIVETaskCfg(Section):
    """``tasks.snli_ve``: the protocol and the text-only classifier's features and fit."""

    protocol: Literal["text_only", "threshold"] = "text_only"  # TAP-C text-only or training-free
    train_limit: Count | None = None  # cap on train rows for the text-only classifier
    val_limit: Count | None = 600  # val rows (through the image stages) for stats / thresholds
    features: Literal["pair", "scores", "gated"] = "gated"  # [p*h,|p-h|,p,h,cos,comps], [h,cos,
    # comps], or gated: [h, cos, comps, h ⊗ (cos, comps)] (fgalign.tasks.snli_ve.pair_features)
    standardize: Literal["domain", "train"] = "domain"  # test features scaled by unlabelled val
    # image statistics (domain) or by the text training statistics (train)
    l2: NonNegative = 1e-3  # L2 penalty of the logistic regression
    compose_logit: NonNegative = 3.0  # logits per unit of λ_c·δ_c of the count / size / relation
    # evidence, added to entailment and taken from contradiction (the text-only training has
    # no boxes, so the classifier cannot weigh them; fgalign.tasks.snli_ve.compose_shift;
    # 1 → 3 chosen on the dev world's val: SNLI-VE relation family 40 → 80 with λ = 0.3)
    steps: Size = 100  # L-BFGS iterations


@register_task
class SNLIVE(Task):
    """SNLI-VE (see the module docstring)."""

    name = "snli_ve"
    config_model = SNLIVETaskCfg
    reader = staticmethod(read_snli_ve)
    label_classes = SNLI_VE_LABELS
    adapt_protocol = "text_only_classifier"  # fgalign.adapt.snli_ve
    n_choices = len(SNLI_VE_LABELS)
    contrast_table, contrast_id = "snli_ve", "pair_id"

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        return add_snli_ve_statements(rows)

    def calibrates(self, cfg: Config) -> bool:
        return True

    def calibration_sets(self, cfg: Config) -> list[tuple[str, list[dict]]]:
        """The first ``tasks.snli_ve.val_limit`` val rows."""
        return [(cfg.data.val_split, self.load_rows(cfg, {}, cfg.data.val_split,
                                                    cfg.tasks.snli_ve.val_limit))]

    def calibration_runs(self, cfg: Config, ctx: dict, train: list[dict]) -> list[dict]:
        runs = calibration_runs(cfg, train, self.calibration_sets(cfg))
        return runs if runs[0]["rows"] else []

    def calibrate(self, cfg: Config, ctx: dict, train: list[dict], runs: list[Any]) -> None:
        ctx["snli_ve"] = fit_snli_ve(cfg, runs)

    def text_only_set(self, cfg: Config, train: list[dict]) -> tuple[str, list[dict]]:
        return text_only_set(cfg, train)

    calibration_embeddings = True  # the text-only classifier reads the hypothesis embedding

    def fitted(self, ctx: dict) -> bool:
        return bool(ctx.get("snli_ve"))

    def calibrated_scores(self, rows: list[dict], scored: list[dict], variants: list[str],
                          ctx: dict) -> list[dict]:
        """Each variant's (1,) fused score → (3,) class logits (``classify_rows``)."""
        return classify_rows(rows, scored, variants, ctx)

    def predict(self, row: dict, scores: np.ndarray) -> tuple[int, int]:
        """The best class (scores are class logits, not candidate groups)."""
        return (int(np.argmax(scores)) if len(scores) else -1), -1

    def row_stats(self, row: dict) -> dict[str, Any]:
        return {"target": int(row["target"]) if row.get("target") is not None else -1}

    metric = "accuracy"
    metric_parts = (("per_class", "accuracy per gold class"),)

    def variant_metrics(self, credit: np.ndarray, preds: np.ndarray,
                        stats: dict[str, np.ndarray], score: float) -> dict[str, Any]:
        return {"per_class": per_class_accuracy(preds[:, 0].tolist(),
                                                stats["target"].astype(int).tolist(),
                                                SNLI_VE_LABELS)}

    def split_metrics(self, cfg: Config, ctx: dict, stats: dict[str, np.ndarray]
                      ) -> dict[str, Any]:
        """``protocol`` and the ``val`` accuracies of the fit (when calibrated)."""
        fit = ctx.get("snli_ve")
        return {"protocol": fit["protocol"], "val": fit["val"]} if fit else {}

    def question_group(self, text: str) -> str | None:
        return None  # a hypothesis, not a question

    def contrast_family(self, row: dict, table: dict[str, str]) -> str:
        """A contradiction's family, also given to its entailed minimal pair (same caption,
        pair id ``…e`` for ``…c``); a neutral hypothesis is ``"neutral"``."""
        if int(row["target"]) == 1:
            return "neutral"
        pid = str(row.get("pair_id", ""))
        return table.get(pid[:-1] + "c", "unknown") if pid else "unknown"
