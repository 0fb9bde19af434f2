"""``fgalign evaluate``: run every task in-process, score each variant, write metrics.json.

    metrics = evaluate(load_config("configs/demo.yaml"))

Per task: ``prepare_task`` → ``load_task_rows`` → the stages (``run_inprocess``) →
``finalize_task``: per-instance credit of each variant — ``prior`` (train answer prior),
``global``, ``global+<component>`` for each active component, ``fusion`` — the headline score
(VQA accuracy, SNLI-VE accuracy, VCR Q→A accuracy, in percent) and the paired bootstrap of
fusion minus global. ``evaluate`` writes into ``runs/<experiment>/<config hash>/``:
``config.yaml``, ``metrics.json`` (schema of DESIGN.md), ``predictions.parquet``,
``vqa_results.json`` (official results format) and ``figures/<task>_alignment.png``.
The Ray pipeline calls ``finalize_task`` (through ``fgalign.stages.finalize``) on its rows.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from fgalign.align.batch import to_array
from fgalign.align.stage import group_argmax, variant_names
from fgalign.config import Config, config_hash, dump_yaml
from fgalign.metrics import paired_bootstrap, per_class_accuracy, vqa_accuracy
from fgalign.schema import SNLI_VE_LABELS


def _groups(row: dict, n: int) -> np.ndarray:
    g = row.get("cand_group")
    return np.zeros(n, int) if g is None or len(g) == 0 else np.asarray(list(g), int)


def variant_preds(task: str, row: dict, variant: str, ctx: dict) -> tuple[int, int]:
    """(prediction, QA→R prediction or -1) of one row under one variant."""
    if row.get("error"):
        return -1, -1
    if variant == "prior":
        if task == "vqa":
            from fgalign.tasks.vqa import prior_scores

            cands = [str(c) for c in row["candidates"]]
            return (int(np.argmax(prior_scores(cands, ctx["vqa"]))) if cands else -1), -1
        return int(np.argmax(ctx["prior"])), int(np.argmax(ctx.get("prior_r", [0])))
    s = to_array(row[f"vscore_{variant}"], 1)
    if task == "snli_ve":
        return (int(np.argmax(s)) if len(s) else -1), -1
    g = _groups(row, len(s))
    return group_argmax(s, g, 0), group_argmax(s, g, 1)


def is_labelled(task: str, row: dict) -> bool:
    """Whether a row carries its gold label: VQA human answers, SNLI-VE / VCR a label >= 0."""
    target = row.get("target")
    if task == "vqa":
        return target is not None and len(target) > 0
    return target is not None and int(target) >= 0


def credit(task: str, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
    """Per-instance (headline, QA→R, Q→AR) credit in percent (0 for error rows).

    Only for rows of a labelled split (``is_labelled``, or an error row: counted as wrong).
    """
    if task == "vqa":
        cands = list(row["candidates"])
        ans = str(cands[pred]) if 0 <= pred < len(cands) else ""
        target = [str(a) for a in row["target"]] if row["target"] is not None else []
        return 100.0 * vqa_accuracy(ans, target) if ans and target else 0.0, 0, 0
    a = 100.0 * (pred >= 0 and pred == int(row["target"]))
    if task == "snli_ve":
        return a, 0.0, 0.0
    r = 100.0 * (pred_r >= 0 and pred_r == int(row["rationale_label"]))
    return a, r, 100.0 * (a > 0 and r > 0)


def finalize_task(cfg: Config, task: str, ctx: dict, rows: list[dict]) -> dict[str, Any]:
    """Metrics (DESIGN.md schema, one task) and prediction records of scored rows.

    A split is labelled when some row carries its gold label (``is_labelled``). Scores are
    over the labelled rows and the error rows (counted as wrong); ``unlabelled`` counts the
    other rows, which are predicted but not scored. A split without labels (VQA test-dev,
    any split whose label field is absent) gets ``"labels": false`` and no score at all:
    ``variants`` and ``delta`` are empty, predictions carry no credit. ``truncated`` counts
    rows with a text cut to the text encoder's context (``fgalign.embed``).
    """
    variants = ["prior"] + variant_names(cfg.align)
    n = len(rows)
    errors = Counter(str(r["error"]) for r in rows if r.get("error"))
    labelled = [is_labelled(task, r) for r in rows]
    labels = any(labelled)
    scored = np.asarray([labels and (lab or bool(r.get("error")))
                         for r, lab in zip(rows, labelled)], bool)  # (N,)
    scored_rows = [r for r, s in zip(rows, scored) if s]
    m = len(scored_rows)
    per: dict[str, np.ndarray] = {}
    preds: dict[str, list[tuple[int, int]]] = {}
    out_vars: dict[str, dict] = {}
    for v in variants:
        preds[v] = [variant_preds(task, r, v, ctx) for r in rows]
        if not labels:
            continue
        c = np.asarray([credit(task, r, p, pr) for r, (p, pr), s
                        in zip(rows, preds[v], scored) if s]).reshape(m, 3)  # (M, 3)
        per[v] = c[:, 0]
        entry: dict[str, Any] = {"score": round(float(c[:, 0].mean()), 2)}
        if task == "vqa":
            by_type: dict[str, list[float]] = {}
            for r, x in zip(scored_rows, c[:, 0]):
                by_type.setdefault(str(r.get("answer_type") or "unknown"), []).append(x)
            entry["perAnswerType"] = {k: round(float(np.mean(x)), 2) for k, x in by_type.items()}
        elif task == "snli_ve":
            p = [pp for (pp, _), s in zip(preds[v], scored) if s]
            entry["per_class"] = per_class_accuracy(p, [int(r["target"]) for r in scored_rows],
                                                    SNLI_VE_LABELS)
        else:
            entry.update({"q2a": entry["score"], "qa2r": round(float(c[:, 1].mean()), 2),
                          "q2ar": round(float(c[:, 2].mean()), 2)})
        out_vars[v] = entry
    delta = {}
    if labels:
        boot = paired_bootstrap(per["global"], per["fusion"], cfg.adapt.bootstrap,
                                cfg.experiment.seed)
        delta = {"fusion_vs_global": {"mean": round(float(boot["mean"]), 2),
                                      "ci95": [round(float(x), 2) for x in boot["ci95"]]}}
    metrics = {"split": cfg.data.split, "n": n, "labels": labels,
               "errors": dict(sorted(errors.items())), "variants": out_vars, "delta": delta}
    if labels and m < n:
        metrics["unlabelled"] = n - m
    truncated = sum(1 for r in rows if int(r.get("truncated_texts") or 0) > 0)
    if truncated:
        metrics["truncated"] = truncated
    if task == "snli_ve" and ctx.get("snli_ve"):
        metrics["protocol"] = ctx["snli_ve"]["protocol"]
        metrics["val"] = ctx["snli_ve"]["val"]
    position = np.cumsum(scored) - 1  # row index → index into per[v]
    records = []
    for i, r in enumerate(rows):
        rec = {"uid": r["uid"], "task": task, "error": str(r.get("error") or "")}
        for v in variants:
            rec[f"pred_{v}"] = preds[v][i][0]
            rec[f"credit_{v}"] = float(per[v][position[i]]) if scored[i] else None
            if task == "vcr":
                rec[f"pred_r_{v}"] = preds[v][i][1]
        if task == "vqa":
            p, cands = preds["fusion"][i][0], list(r["candidates"])
            rec["answer"] = str(cands[p]) if 0 <= p < len(cands) else ""
        records.append(rec)
    result = {"metrics": metrics, "predictions": records}
    if task == "vqa":
        from fgalign.tasks.vqa import results_json

        result["vqa_results"] = results_json(rows, [p for p, _ in preds["fusion"]])
    return result


def format_table(metrics: dict) -> str:
    """Plain-text table: task, variant, score (and VCR parts), then the fusion delta.

    A task without labels, or skipped, gets one line saying so instead of scores.
    """
    lines = [f"{'task':8} {'variant':26} {'score':>7}"]
    for task, m in metrics["tasks"].items():
        if "skipped" in m:
            lines.append(f"{task:8} skipped: {m['skipped']}")
            continue
        if not m.get("labels", True):
            lines.append(f"{task:8} no labels in split {m['split']}: {m['n']} rows predicted, "
                         f"not scored (errors={sum(m['errors'].values())})")
            continue
        for v, e in m["variants"].items():
            extra = f"  q2a {e['q2a']:.2f} qa2r {e['qa2r']:.2f} q2ar {e['q2ar']:.2f}" \
                if "q2ar" in e else ""
            lines.append(f"{task:8} {v:26} {e['score']:7.2f}{extra}")
        d = m["delta"]["fusion_vs_global"]
        lines.append(f"{task:8} {'fusion - global':26} {d['mean']:+7.2f}  95% CI "
                     f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]  (n={m['n']}, "
                     f"errors={sum(m['errors'].values())})")
    return "\n".join(lines)


def skipped_task(cfg: Config, err: Exception) -> dict[str, Any]:
    """metrics.json entry of a task skipped for an empty split (``EmptySplitError``): no score."""
    return {"split": cfg.data.split, "n": 0, "skipped": str(err)}


def run_dir(cfg: Config) -> Path:
    """``<output_dir>/<experiment>/<config hash>``."""
    return Path(cfg.experiment.output_dir) / cfg.experiment.name / config_hash(cfg)


def evaluate(cfg: Config, figures: bool = True) -> dict[str, Any]:
    """Run every task of ``cfg.data.tasks`` in-process; write and return metrics.json content.

    A task whose split has no usable row is skipped with one sentence naming the task, the
    split and why (stderr, metrics.json ``skipped``, the table); the other tasks still run.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fgalign.data import EmptySplitError
    from fgalign.stages import run_inprocess

    if cfg.data.synth.generate:
        from fgalign.data.synth import ensure_world

        ensure_world(cfg.data.root, cfg.data.synth)
    out = run_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    metrics: dict[str, Any] = {"config_hash": config_hash(cfg), "tasks": {}}
    records: list[dict] = []
    timings: dict[str, float] = {}  # seconds per task: timings.json (metrics.json stays reproducible)
    for task in cfg.data.tasks:
        t0 = time.perf_counter()
        try:
            rows, ctx = run_inprocess(cfg, task, keep_heavy=cfg.logging.figures)
        except EmptySplitError as e:  # named, not scored; the other tasks still run
            print(f"fgalign: task {task} skipped: {e}", file=sys.stderr, flush=True)
            metrics["tasks"][task] = skipped_task(cfg, e)
            continue
        result = finalize_task(cfg, task, ctx, rows)
        timings[task] = round(time.perf_counter() - t0, 1)
        metrics["tasks"][task] = result["metrics"]
        records += result["predictions"]
        if "vqa_results" in result:
            (out / "vqa_results.json").write_text(json.dumps(result["vqa_results"]))
        if figures and cfg.logging.figures:
            from fgalign.viz import alignment_figure

            alignment_figure(cfg, task, rows[: cfg.logging.figures],
                             out / "figures" / f"{task}_alignment.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    if records:
        keys = list(dict.fromkeys(k for r in records for k in r))
        pq.write_table(pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in records]),
                       out / "predictions.parquet")
    metrics["run_dir"] = str(out)
    return metrics
