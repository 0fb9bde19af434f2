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
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fgalign.align.batch import to_array
from fgalign.align.stage import group_argmax
from fgalign.config import Config, config_hash
from fgalign.metrics import paired_bootstrap, per_class_accuracy, vqa_accuracy
from fgalign.schema import SNLI_VE_LABELS
from fgalign.variants import variant_names


def _groups(row: dict, n: int) -> np.ndarray:
    g = row.get("cand_group")
    return np.zeros(n, int) if g is None or len(g) == 0 else np.asarray(list(g), int)


ORACLE = "oracle"  # VQA: fusion with the best-credit answer the first pass dropped added back


def variants_of(cfg: Config, task: str) -> list[str]:
    """The metrics variants of ``task``: ``prior``, those of ``fgalign.variants`` and, for VQA
    with ``tasks.vqa.oracle``, ``oracle``."""
    extra = [ORACLE] if task == "vqa" and cfg.tasks.vqa.oracle else []
    return ["prior"] + variant_names(cfg.align) + extra


def variant_preds(task: str, row: dict, variant: str, ctx: dict) -> tuple[int, int]:
    """(prediction, QA→R prediction or -1) of one row under one variant.

    VQA: the candidate at ``oracle_index`` (the best-credit answer the retrieval cut dropped,
    ``fgalign.tasks.retrieve``) is never predicted, except by the ``oracle`` variant.
    """
    if row.get("error"):
        return -1, -1
    oracle = int(row.get("oracle_index", -1)) if task == "vqa" else -1  # see fgalign.tasks.retrieve
    if variant == "prior":
        if task == "vqa":
            from fgalign.tasks.vqa import prior_scores

            cands = [str(c) for c in row["candidates"]]
            p = prior_scores(cands, ctx["vqa"])
            if 0 <= oracle < len(p):
                p[oracle] = -np.inf
            return (int(np.argmax(p)) if cands else -1), -1
        return int(np.argmax(ctx["prior"])), int(np.argmax(ctx.get("prior_r", [0])))
    s = to_array(row[f"vscore_{'fusion' if variant == ORACLE else variant}"], 1)
    if 0 <= oracle < len(s) and variant != ORACLE:  # only the oracle variant may pick it
        s = s.copy()
        s[oracle] = -np.inf
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


def credit_of(task: str, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
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


LIGHT_COLUMNS = ("uid", "error", "candidates", "target", "answer_type", "rationale_label",
                 "cand_group", "question_id", "oracle_index", "gold_rank", "pool_size",
                 "truncated_texts")  # what finalize reads besides the variant scores
CHUNK = 4096  # rows per streamed batch and per predictions part


def _iter_rows(scored: Any, columns: list[str]) -> Iterator[dict]:
    """Rows of a ``SplitRun`` (streamed from its cache) or of a list of dicts."""
    if isinstance(scored, list):
        yield from scored
        return
    for batch in scored.iter_batches(columns, CHUNK):
        n = len(next(iter(batch.values())))
        for i in range(n):
            yield {k: v[i] for k, v in batch.items()}


def finalize_task(cfg: Config, task: str, ctx: dict, scored: Any,
                  writer: OutputWriter | None = None) -> dict[str, Any]:
    """Metrics (DESIGN.md schema, one task) of scored rows, streamed in bounded batches.

    A split is labelled when some row carries its gold label (``is_labelled``). Scores are
    over the labelled rows and the error rows (counted as wrong); ``unlabelled`` counts the
    other rows, which are predicted but not scored. A split without labels (VQA test-dev,
    any split whose label field is absent) gets ``"labels": false`` and no score at all:
    ``variants`` and ``delta`` are empty, predictions carry no credit. ``truncated`` counts
    rows with a text cut to the text encoder's context (``fgalign.embed``).

    Args:
        cfg: the experiment config (variants, bootstrap).
        task: task name.
        ctx: the task context (priors for the ``prior`` variant).
        scored: a ``fgalign.graph.SplitRun`` (its score cache is read ``CHUNK`` rows at a
            time; memory holds O(rows) numbers, never rows × candidates) or a list of row dicts.
        writer: receives prediction records and VQA results as they are made (None: they are
            returned in the result instead, for small inputs and tests).

    Returns:
        ``{"metrics": ...}`` plus ``"predictions"`` / ``"vqa_results"`` lists when no writer.
    """
    variants = variants_of(cfg, task)
    uids = [str(r["uid"]) for r in scored] if isinstance(scored, list) else scored.uids
    position = {u: i for i, u in enumerate(uids)}
    n = len(uids)
    credit = {v: np.zeros((n, 3)) for v in variants}  # (N, 3): headline, QA→R, Q→AR
    preds = {v: np.full((n, 2), -1, np.int64) for v in variants}
    answer_types = np.full(n, "unknown", dtype=object)
    targets = np.full(n, -1, np.int64)
    errors: Counter[str] = Counter()
    counted = np.zeros(n, bool)  # (N,) labelled or error rows: the scored ones
    # a split is labelled when some row carries its gold label (a first, light pass)
    labelled_any = any(is_labelled(task, r) for r in _iter_rows(scored, ["target"]))
    truncated = 0
    keep: list[dict] = []  # the records, when there is no writer
    results: list[dict] = []
    records: list[dict] = []
    columns = list(LIGHT_COLUMNS) + [f"vscore_{v}" for v in variants if v not in ("prior",
                                                                                  ORACLE)]
    ranks, pools = np.full(n, -2, np.int64), np.zeros(n, np.int64)  # VQA retrieval (-2: unknown)
    for row in _iter_rows(scored, columns):
        i = position[str(row["uid"])]
        if row.get("error"):
            errors[str(row["error"])] += 1
        counted[i] = labelled_any and (bool(row.get("error")) or is_labelled(task, row))
        truncated += int(row.get("truncated_texts") or 0) > 0
        rec = {"uid": str(row["uid"]), "task": task, "error": str(row.get("error") or "")}
        for v in variants:
            p, pr = variant_preds(task, row, v, ctx)
            if counted[i]:
                credit[v][i] = credit_of(task, row, p, pr)
            preds[v][i] = (p, pr)
            rec[f"pred_{v}"] = p
            rec[f"credit_{v}"] = float(credit[v][i, 0]) if counted[i] else None
            if task == "vcr":
                rec[f"pred_r_{v}"] = pr
        if task == "vqa":
            answer_types[i] = str(row.get("answer_type") or "unknown")
            if not row.get("error") and len(row.get("target") if row.get("target") is not None
                                            else []):
                ranks[i], pools[i] = int(row.get("gold_rank", -2)), int(row.get("pool_size", 0))
            cands, p = list(row["candidates"]), preds["fusion"][i, 0]
            rec["answer"] = str(cands[p]) if 0 <= p < len(cands) else ""
            results.append({"question_id": int(row["question_id"]),
                            "answer": rec["answer"] if not row.get("error") else ""})
        elif task == "snli_ve":
            targets[i] = int(row["target"]) if row.get("target") is not None else -1
        records.append(rec)
        if len(records) >= CHUNK:
            keep += _flush(writer, task, records, results)
            records, results = [], []
    keep += _flush(writer, task, records, results)
    labels = bool(labelled_any)
    out_vars: dict[str, dict] = {}
    delta: dict[str, Any] = {}
    if labels:
        for v in variants:
            c = credit[v][counted]  # (M, 3)
            entry: dict[str, Any] = {"score": round(float(c[:, 0].mean()), 2)}
            if task == "vqa":
                at = answer_types[counted]
                entry["perAnswerType"] = {t: round(float(c[at == t, 0].mean()), 2)
                                          for t in dict.fromkeys(at.tolist())}
            elif task == "snli_ve":
                entry["per_class"] = per_class_accuracy(preds[v][counted, 0].tolist(),
                                                        targets[counted].tolist(), SNLI_VE_LABELS)
            else:
                entry.update({"q2a": entry["score"], "qa2r": round(float(c[:, 1].mean()), 2),
                              "q2ar": round(float(c[:, 2].mean()), 2)})
            out_vars[v] = entry
        boot = paired_bootstrap(credit["global"][counted, 0], credit["fusion"][counted, 0],
                                cfg.adapt.bootstrap, cfg.experiment.seed)
        delta = {"fusion_vs_global": {"mean": round(float(boot["mean"]), 2),
                                      "ci95": [round(float(x), 2) for x in boot["ci95"]]}}
    metrics = {"split": cfg.data.split, "n": n, "labels": labels,
               "errors": dict(sorted(errors.items())), "variants": out_vars, "delta": delta}
    if labels and counted.sum() < n:
        metrics["unlabelled"] = int(n - counted.sum())
    if truncated:
        metrics["truncated"] = int(truncated)
    if task == "vqa" and (ranks > -2).any():
        k, lab = cfg.tasks.vqa.k, ranks > -2  # labelled, error-free questions
        metrics["retrieval"] = {
            "k": k, "n": int(lab.sum()),
            "recall@k": round(100 * float(((ranks >= 0) & (ranks < k))[lab].mean()), 2),
            "vocab_coverage": round(100 * float((ranks >= 0)[lab].mean()), 2),
            "mean_pool": round(float(pools[lab].mean()), 1)}
    if task == "snli_ve" and ctx.get("snli_ve"):
        metrics["protocol"] = ctx["snli_ve"]["protocol"]
        metrics["val"] = ctx["snli_ve"]["val"]
    result: dict[str, Any] = {"metrics": metrics}
    if writer is None:
        result["predictions"] = [r for r in keep if "question_id" not in r]
        if task == "vqa":
            result["vqa_results"] = [r for r in keep if "question_id" in r]
    return result


def _flush(writer: OutputWriter | None, task: str, records: list[dict], results: list[dict]
           ) -> list[dict]:
    if writer is None:
        return records + results
    writer.add_predictions(task, records)
    if results:
        writer.add_vqa_results(results)
    return []


class OutputWriter:
    """``predictions.parquet`` and ``vqa_results.json`` written as records arrive (streaming).

    Prediction records of each task go to Parquet parts under ``<out>/.predictions/``;
    ``close()`` merges them into one ``predictions.parquet`` (schemas unified, batch by batch)
    and completes ``vqa_results.json`` (the official results format), which is written only
    when some task produced VQA results.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.parts = self.out / ".predictions"
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True)
        self._n = 0
        self._vqa = None
        self.rows = 0

    def add_predictions(self, task: str, records: list[dict]) -> None:
        if not records:
            return
        pq.write_table(pa.Table.from_pylist(records), self.parts / f"{self._n:06d}-{task}.parquet")
        self._n += 1
        self.rows += len(records)

    def add_vqa_results(self, results: list[dict]) -> None:
        first = self._vqa is None
        if first:
            self._vqa = open(self.out / "vqa_results.json", "w")  # noqa: SIM115 - closed in close()
            self._vqa.write("[")
        body = ", ".join(json.dumps(r) for r in results)
        self._vqa.write(body if first else ", " + body)

    def close(self) -> None:
        if self._vqa is not None:
            self._vqa.write("]")
            self._vqa.close()
            self._vqa = None
        files = sorted(self.parts.glob("*.parquet"))
        if files:
            schema = pa.unify_schemas([pq.read_schema(f) for f in files])
            with pq.ParquetWriter(self.out / "predictions.parquet", schema) as w:
                for f in files:
                    t = pq.read_table(f)
                    for name in schema.names:
                        if name not in t.column_names:
                            t = t.append_column(name, pa.nulls(t.num_rows, schema.field(name).type))
                    w.write_table(t.select(schema.names).cast(schema))
        shutil.rmtree(self.parts, ignore_errors=True)


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
    """Run every task of ``cfg.data.tasks`` in this process; write and return metrics.json.

    The same experiment loop as the Ray pipeline (``fgalign.ray.pipeline.run_experiment``)
    with the in-process executor: same stage graph, caches and outputs, no Ray, no W&B.
    """
    from fgalign.ray.pipeline import run_experiment

    result = run_experiment(cfg, use_ray=False, use_wandb=False, figures=figures,
                            command="fgalign evaluate")
    return {**result["metrics"], "run_dir": result["run_dir"]}
