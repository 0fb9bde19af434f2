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


def credit(task: str, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
    """Per-instance (headline, QA→R, Q→AR) credit in percent (0 for error rows)."""
    if task == "vqa":
        cands = list(row["candidates"])
        ans = str(cands[pred]) if 0 <= pred < len(cands) else ""
        return 100.0 * vqa_accuracy(ans, [str(a) for a in row["target"]]) if ans else 0.0, 0, 0
    a = 100.0 * (pred >= 0 and pred == int(row["target"]))
    if task == "snli_ve":
        return a, 0.0, 0.0
    r = 100.0 * (pred_r >= 0 and pred_r == int(row["rationale_label"]))
    return a, r, 100.0 * (a > 0 and r > 0)


def finalize_task(cfg: Config, task: str, ctx: dict, rows: list[dict]) -> dict[str, Any]:
    """Metrics (DESIGN.md schema, one task) and prediction records of scored rows."""
    variants = ["prior"] + variant_names(cfg.align)
    n = len(rows)
    errors = Counter(str(r["error"]) for r in rows if r.get("error"))
    per: dict[str, np.ndarray] = {}
    preds: dict[str, list[tuple[int, int]]] = {}
    out_vars: dict[str, dict] = {}
    for v in variants:
        preds[v] = [variant_preds(task, r, v, ctx) for r in rows]
        c = np.asarray([credit(task, r, p, pr) for r, (p, pr) in zip(rows, preds[v])])  # (N, 3)
        c = c.reshape(n, 3)
        per[v] = c[:, 0]
        entry: dict[str, Any] = {"score": round(float(c[:, 0].mean()), 2) if n else 0.0}
        if task == "vqa":
            by_type: dict[str, list[float]] = {}
            for r, x in zip(rows, c[:, 0]):
                by_type.setdefault(str(r.get("answer_type") or "unknown"), []).append(x)
            entry["perAnswerType"] = {k: round(float(np.mean(x)), 2) for k, x in by_type.items()}
        elif task == "snli_ve":
            p = [pp for pp, _ in preds[v]]
            entry["per_class"] = per_class_accuracy(p, [int(r["target"]) for r in rows],
                                                    SNLI_VE_LABELS) if n else {}
        else:
            entry.update({"q2a": entry["score"], "qa2r": round(float(c[:, 1].mean()), 2),
                          "q2ar": round(float(c[:, 2].mean()), 2)})
        out_vars[v] = entry
    boot = paired_bootstrap(per["global"], per["fusion"], cfg.adapt.bootstrap,
                            cfg.experiment.seed) if n else {"mean": 0.0, "ci95": [0.0, 0.0]}
    metrics = {"split": cfg.data.split, "n": n, "errors": dict(sorted(errors.items())),
               "variants": out_vars,
               "delta": {"fusion_vs_global": {"mean": round(float(boot["mean"]), 2),
                                              "ci95": [round(float(x), 2) for x in boot["ci95"]]}}}
    if task == "snli_ve" and ctx.get("snli_ve"):
        metrics["protocol"] = ctx["snli_ve"]["protocol"]
        metrics["val"] = ctx["snli_ve"]["val"]
    records = []
    for i, r in enumerate(rows):
        rec = {"uid": r["uid"], "task": task, "error": str(r.get("error") or "")}
        for v in variants:
            rec[f"pred_{v}"], rec[f"credit_{v}"] = preds[v][i][0], float(per[v][i])
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
    """Plain-text table: task, variant, score (and VCR parts), then the fusion delta."""
    lines = [f"{'task':8} {'variant':26} {'score':>7}"]
    for task, m in metrics["tasks"].items():
        for v, e in m["variants"].items():
            extra = f"  q2a {e['q2a']:.2f} qa2r {e['qa2r']:.2f} q2ar {e['q2ar']:.2f}" \
                if "q2ar" in e else ""
            lines.append(f"{task:8} {v:26} {e['score']:7.2f}{extra}")
        d = m["delta"]["fusion_vs_global"]
        lines.append(f"{task:8} {'fusion - global':26} {d['mean']:+7.2f}  95% CI "
                     f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]  (n={m['n']}, "
                     f"errors={sum(m['errors'].values())})")
    return "\n".join(lines)


def run_dir(cfg: Config) -> Path:
    """``<output_dir>/<experiment>/<config hash>``."""
    return Path(cfg.experiment.output_dir) / cfg.experiment.name / config_hash(cfg)


def evaluate(cfg: Config, figures: bool = True) -> dict[str, Any]:
    """Run every task of ``cfg.data.tasks`` in-process; write and return metrics.json content."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fgalign.data.synth import resolve_world
    from fgalign.stages import run_inprocess

    cfg = resolve_world(cfg)  # generate a missing world; read a world's layout + identity
    out = run_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    metrics: dict[str, Any] = {"config_hash": config_hash(cfg), "world": cfg.data.world,
                               "tasks": {}}
    records: list[dict] = []
    timings: dict[str, float] = {}  # seconds per task: timings.json (metrics.json stays reproducible)
    for task in cfg.data.tasks:
        t0 = time.perf_counter()
        rows, ctx = run_inprocess(cfg, task, keep_heavy=cfg.logging.figures)
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
