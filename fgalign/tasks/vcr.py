"""VCR as image-statement matching: Q→A over 4 answers, QA→R over 4 rationales, Q→AR.

    rows = add_vcr_statements(rows, modes=("q2a", "qa2r"))

Adds to each row: ``statements`` — ``answer_template`` ("{question} {answer}") filled for the
4 answers (group 0), then, with ``qa2r``, ``rationale_template`` ("{question} {answer}
{rationale}", with the gold answer; "" for rows without an answer label) for the 4 rationales
(group 1); ``cand_group`` (0 / 1 per statement);
``labels`` ([answer_label, rationale_label]); ``statement_refs`` (per statement, the object
indices it mentions: question refs, then answer / rationale refs), which the keyword stage
turns into ``kw_refs`` and the scorer into region masks over the ``dataset`` boxes.

The task (``VCR``): reader ``fgalign.data.vcr.read_vcr``; the boxes are named objects, part of
the image's identity; regions come from ``tasks.vcr.proposer`` (``dataset``: the given boxes)
when set. Credit (Zellers et al., CVPR 2019): Q→A accuracy is the headline, QA→R and Q→AR
(both right) are reported next to it; the ``prior`` variant picks the most frequent train
answer / rationale position.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from fgalign.config import Config, Section
from fgalign.data.vcr import read_vcr
from fgalign.tasks.base import Task, register_task


def _union(*ref_lists) -> list[int]:
    out: list[int] = []
    for refs in ref_lists:
        for r in refs or []:
            if int(r) not in out:
                out.append(int(r))
    return out


def add_vcr_statements(rows: list[dict], modes=("q2a", "qa2r"),
                       answer_template: str = "{question} {answer}",
                       rationale_template: str = "{question} {answer} {rationale}") -> list[dict]:
    """Fill ``statements``, ``cand_group``, ``labels``, ``statement_refs`` (module docstring)."""
    fill = lambda t, **kw: " ".join(t.format(**kw).split())
    for r in rows:
        r["statements"], r["cand_group"], r["statement_refs"] = [], [], []
        r["labels"] = [int(r.get("target", -1)), int(r.get("rationale_label", -1))]
        if r.get("error"):
            continue
        q, q_refs = r["text"], r["text_refs"]
        if "q2a" in modes:
            for ans, refs in zip(r["candidates"], r["candidate_refs"]):
                r["statements"].append(fill(answer_template, question=q, answer=ans))
                uses_q = "{question}" in answer_template
                r["statement_refs"].append(_union(q_refs if uses_q else [], refs))
                r["cand_group"].append(0)
        if "qa2r" in modes:
            gold = r["target"]
            known = 0 <= gold < len(r["candidates"])
            ans, a_refs = (r["candidates"][gold], r["candidate_refs"][gold]) if known else ("", [])
            uses_q = "{question}" in rationale_template
            uses_a = "{answer}" in rationale_template
            for rat, refs in zip(r["rationales"], r["rationale_refs"]):
                r["statements"].append(fill(rationale_template, question=q, answer=ans,
                                            rationale=rat))
                r["statement_refs"].append(_union(q_refs if uses_q else [],
                                                  a_refs if uses_a else [], refs))
                r["cand_group"].append(1)
    return rows


class VCRTaskCfg(Section):
    """``tasks.vcr``: the modes, the region proposer and the statement templates."""

    modes: list[Literal["q2a", "qa2r"]] = Field(default_factory=lambda: ["q2a", "qa2r"])
    proposer: str | None = "dataset"  # region proposer for VCR (None: regions.proposer)
    # Statement templates (chosen on val of a dev world: the answers and rationales restate the
    # question's object, and the bundled backbone's vocabulary has no question words).
    answer_template: str = "{answer}"  # Q→A statement ({question}, {answer})
    rationale_template: str = "{rationale}"  # QA→R statement ({question}, gold {answer},
    # {rationale})


@register_task
class VCR(Task):
    """VCR (see the module docstring)."""

    name = "vcr"
    config_model = VCRTaskCfg
    prediction_columns = ("rationale_label",)
    reader = staticmethod(read_vcr)
    n_choices = 4
    contrast_table, contrast_id = "vcr_q2a", "annot_id"  # its wrong answers' family

    def image_names(self, row: dict) -> list[str] | None:
        return row.get("object_names")

    def proposer(self, cfg: Config) -> str:
        return cfg.tasks.vcr.proposer or cfg.regions.proposer

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        vc = cfg.tasks.vcr
        return add_vcr_statements(rows, vc.modes, vc.answer_template, vc.rationale_template)

    def train_context(self, cfg: Config, train: list[dict]) -> dict[str, Any]:
        ctx = super().train_context(cfg, train)
        ctx["prior_r"] = np.bincount([r["rationale_label"] for r in train
                                      if r["rationale_label"] >= 0], minlength=4).tolist()
        return ctx

    metric = "Q→A accuracy"
    metric_parts = (("qa2r", "QA→R accuracy"), ("q2ar", "Q→AR accuracy"))  # q2a: the score

    def credit(self, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
        """(Q→A, QA→R, Q→AR) in percent."""
        a = 100.0 * (pred >= 0 and pred == int(row["target"]))
        r = 100.0 * (pred_r >= 0 and pred_r == int(row["rationale_label"]))
        return a, r, 100.0 * (a > 0 and r > 0)

    def variant_record(self, variant: str, pred: int, pred_r: int) -> dict[str, Any]:
        return {f"pred_r_{variant}": pred_r}

    def variant_metrics(self, credit: np.ndarray, preds: np.ndarray,
                        stats: dict[str, np.ndarray], score: float) -> dict[str, Any]:
        return {"q2a": score, "qa2r": round(float(credit[:, 1].mean()), 2),
                "q2ar": round(float(credit[:, 2].mean()), 2)}
