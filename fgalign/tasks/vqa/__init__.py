"""The VQA task (VQAv2): open-ended answers as image-statement matching, scored by VQA accuracy.

- Reader: ``fgalign.data.vqa.read_vqa`` (official questions + annotations files).
- Statements: the ``candidates`` stage (``fgalign.tasks.vqa.retrieve``) keeps the top ``k``
  answers of the train vocabulary (``fgalign.tasks.vqa.answers.prepare_vqa``) per question
  and turns each into a statement; the driver only adds ``answer_type_inferred`` and
  ``question_prefix``.
- Calibration (``tasks.vqa.yes_no="threshold"``): the yes/no thresholds θ fitted on the
  scored, *unlabelled* yes/no val questions (``fit_yes_no``); applied to the scored rows
  (``fgalign.align.stage.calibrate_rows``).
- Credit: the official VQA accuracy of the predicted raw answer string (min(#humans / 3, 1),
  averaged over the 10 choose 9 subsets; Antol et al., ICCV 2015). Metrics add
  ``perAnswerType``, ``retrieval`` (recall@k of the candidate cut) and the ``oracle``
  variant; ``vqa_results.json`` is the official results file.
- Adaptation: the candidates' VQA accuracy is the contrastive target.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from fgalign.config import Config, Section
from fgalign.data.vqa import read_vqa
from fgalign.engine.spec import StageSpec, make_spec
from fgalign.metrics import vqa_accuracy
from fgalign.numbers import Count, Finite, Positive, Size
from fgalign.tasks.base import Task, register_task
from fgalign.tasks.vqa.answers import (
    apply_yes_no,
    fit_yes_no,
    infer_answer_type,
    prepare_vqa,
    prior_scores,
    question_prefix,
    tag_filter_mask,
    vqa_credit,
    yes_prior,
)
from fgalign.tasks.vqa.retrieve import CandidateRetriever, answer_counts, prompts
from fgalign.variants import ORACLE, variant_column, variant_names


class VQATaskCfg(Section):
    """``tasks.vqa``: the answer vocabulary, the candidate filters, the converter, the yes/no
    calibration and the retrieval cut."""

    answer_vocab_size: Size = 100  # top-N train answers as candidates
    type_filter: bool = True  # keep only candidates of the question's inferred answer type
    prefix_filter: bool = True  # ... and only answers given in train to the question's prefix
    # (chosen on val of the dev world, seed 7: VQA fusion 50.51 → 60.78, global 26.04 → 39.92)
    converter: str = "rule"  # question→statement converter: rule | t5
    t5_model: str | None = None  # local path / name of T5 weights for converter=t5
    tag_filter: bool = False  # keep only candidates related to region tags / keywords
    yes_no: Literal["statements", "threshold"] = "threshold"  # "no" = negated statement, or a
    # threshold on the affirmative score (quantile of unlabelled val scores at the train prior)
    val_limit: Count | None = 600  # val rows scored to fit the yes/no thresholds
    # Retrieve, then rerank (fgalign.tasks.vqa.retrieve): a first pass keeps the top k answers.
    k: Size = 32  # answers kept per question (statements, keywords, scoring)
    retrieval_prompt: str = "{answer}"  # text embedded per vocabulary answer for the first pass
    retrieval_tau: Positive = 0.05  # temperature of cos(image, prompt) in the first pass
    retrieval_prior_weight: Finite = 1.0  # weight of log P(answer | question prefix)
    oracle: bool = True  # also score the best-credit answer the cut dropped (oracle variant)


@register_task
class VQA(Task):
    """VQAv2 (see the module docstring)."""

    name = "vqa"
    config_model = VQATaskCfg
    prediction_columns = ("answer_type", "question_id", "oracle_index", "gold_rank", "pool_size")
    reader = staticmethod(read_vqa)
    results_file = "vqa_results.json"
    contrast_table, contrast_id = "vqa", "question_id"

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        """``answer_type_inferred`` and ``question_prefix`` only: the candidates and their
        statements are made by the ``candidates`` stage, so the driver never holds rows ×
        candidates."""
        for r in rows:
            r["answer_type_inferred"] = infer_answer_type(r["text"], ctx.get("vqa"))
            r["question_prefix"] = question_prefix(r["text"])
        return rows

    def train_context(self, cfg: Config, train: list[dict]) -> dict[str, Any]:
        vqa = prepare_vqa(train, cfg.tasks.vqa.answer_vocab_size)
        vqa["prefix_counts"] = answer_counts(train, vqa["answer_vocab"])
        return {"vqa": vqa}

    def calibrates(self, cfg: Config) -> bool:
        return cfg.tasks.vqa.yes_no == "threshold"

    def calibration_sets(self, cfg: Config) -> list[tuple[str, list[dict]]]:
        """The yes/no questions among the first ``tasks.vqa.val_limit`` val questions."""
        if not self.calibrates(cfg):
            return []
        val = self.load_rows(cfg, {}, cfg.data.val_split, cfg.tasks.vqa.val_limit)
        return [(f"{cfg.data.val_split}:yes-no",
                 [r for r in val if r["answer_type_inferred"] == "yes/no"])]

    def calibration_runs(self, cfg: Config, ctx: dict, train: list[dict]) -> list[dict]:
        """The val yes/no questions, scored with the train context."""
        return [{"split": split, "rows": val, "ctx": ctx}
                for split, val in self.calibration_sets(cfg)]

    def calibrate(self, cfg: Config, ctx: dict, train: list[dict], runs: list[Any]) -> None:
        run, = runs
        variants = variant_names(cfg.align)
        cols = ["error", "candidates", "answer_type_inferred", "question_prefix"] + [
            variant_column(v) for v in variants]
        ctx["vqa"]["yes_no"] = fit_yes_no(run.iter_rows(cols), variants,
                                          yes_prior(train, ctx["vqa"]))

    def row_stages(self, cfg: Config, ctx: dict, tables: dict[str, str]) -> list[StageSpec]:
        vq = cfg.tasks.vqa
        return [make_spec(cfg, "candidates", CandidateRetriever, {
            "vqa": {k: v for k, v in ctx["vqa"].items() if k != "yes_no"}, "tables": tables,
            "k": vq.k, "prompt": vq.retrieval_prompt, "tau": vq.retrieval_tau,
            "prior_weight": vq.retrieval_prior_weight, "type_filter": vq.type_filter,
            "prefix_filter": vq.prefix_filter, "converter": vq.converter,
            "converter_kwargs": {"model": vq.t5_model} if vq.converter == "t5" else {},
            "oracle": vq.oracle})]

    def prompt_texts(self, cfg: Config, ctx: dict) -> list[str]:
        """The retrieval prompt of every vocabulary answer (``candidates`` looks them up)."""
        return prompts(ctx["vqa"]["answer_vocab"], cfg.tasks.vqa.retrieval_prompt)

    def tag_filter(self, cfg: Config) -> bool:
        return cfg.tasks.vqa.tag_filter

    def candidate_keep(self, row: dict) -> np.ndarray:
        """Candidates of an ``other`` question that name a region tag (``tag_filter_mask``)."""
        return tag_filter_mask([str(c) for c in row["candidates"]],
                               str(row.get("answer_type_inferred", "")),
                               [str(t) for t in (row.get("region_tags") or [])])

    def fitted(self, ctx: dict) -> bool:
        return bool((ctx.get("vqa") or {}).get("yes_no"))

    def calibrated_scores(self, rows: list[dict], scored: list[dict], variants: list[str],
                          ctx: dict) -> list[dict]:
        """"no" scored θ on yes/no questions (``apply_yes_no``), when θ was fitted."""
        theta = (ctx.get("vqa") or {}).get("yes_no")
        if theta:
            for r, s in zip(rows, scored):
                for v in variants:
                    s[variant_column(v)] = apply_yes_no(s[variant_column(v)], r, theta[v])
        return scored

    def prior_predict(self, row: dict, ctx: dict) -> tuple[int, int]:
        """The most frequent train answer among the candidates (never the oracle one)."""
        cands = [str(c) for c in row["candidates"]]
        p = prior_scores(cands, ctx["vqa"])
        oracle = int(row.get("oracle_index", -1))
        if 0 <= oracle < len(p):
            p[oracle] = -np.inf
        return (int(np.argmax(p)) if cands else -1), -1

    def is_labelled(self, row: dict) -> bool:
        target = row.get("target")
        return target is not None and len(target) > 0

    metric = "VQA accuracy"
    metric_parts = (("perAnswerType", "VQA accuracy per answer type"),)

    def credit(self, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
        cands = list(row["candidates"])
        ans = str(cands[pred]) if 0 <= pred < len(cands) else ""
        target = [str(a) for a in row["target"]] if row["target"] is not None else []
        return 100.0 * vqa_accuracy(ans, target) if ans and target else 0.0, 0.0, 0.0

    def extra_variants(self, cfg: Config) -> list[str]:
        return [ORACLE] if cfg.tasks.vqa.oracle else []

    def record(self, row: dict, preds: dict[str, tuple[int, int]]) -> dict[str, Any]:
        """``answer``: the raw answer string fusion predicts ("" for none)."""
        cands, p = list(row["candidates"]), preds["fusion"][0]
        return {"answer": str(cands[p]) if 0 <= p < len(cands) else ""}

    def official_result(self, row: dict, record: dict) -> dict:
        """``{"question_id", "answer"}`` of the official results format ("" for error rows)."""
        return {"question_id": int(row["question_id"]),
                "answer": record["answer"] if not row.get("error") else ""}

    def row_stats(self, row: dict) -> dict[str, Any]:
        labelled = not row.get("error") and self.is_labelled(row)
        return {"answer_type": str(row.get("answer_type") or "unknown"),
                "gold_rank": int(row.get("gold_rank", -2)) if labelled else -2,
                "pool_size": int(row.get("pool_size", 0)) if labelled else 0}

    def variant_metrics(self, credit: np.ndarray, preds: np.ndarray,
                        stats: dict[str, np.ndarray], score: float) -> dict[str, Any]:
        at = stats["answer_type"]
        return {"perAnswerType": {t: round(float(credit[at == t, 0].mean()), 2)
                                  for t in dict.fromkeys(at.tolist())}}

    def split_metrics(self, cfg: Config, ctx: dict, stats: dict[str, np.ndarray]
                      ) -> dict[str, Any]:
        """``retrieval``: recall@k of the candidate cut over labelled, error-free questions."""
        ranks, pools = stats["gold_rank"].astype(np.int64), stats["pool_size"].astype(np.int64)
        lab = ranks > -2
        if not lab.any():
            return {}
        k = cfg.tasks.vqa.k
        return {"retrieval": {
            "k": k, "n": int(lab.sum()),
            "recall@k": round(100 * float(((ranks >= 0) & (ranks < k))[lab].mean()), 2),
            "vocab_coverage": round(100 * float((ranks >= 0)[lab].mean()), 2),
            "mean_pool": round(float(pools[lab].mean()), 1)}}

    def candidate_credit(self, row: dict, group: int, n: int) -> np.ndarray:
        """The official VQA accuracy of each candidate (``vqa_credit``)."""
        return vqa_credit([str(c) for c in row["candidates"]], [str(a) for a in row["target"]])
