"""Metrics and outputs of a scored split: ``finalize_task``, ``OutputWriter``, the printed table.

    result = finalize_task(cfg, task, ctx, run, writer)     # run: fgalign.engine.runner.SplitRun

``finalize_task`` streams the score cache, applies the task's fitted calibration to it
(``calibration``: the score stage applies none), and gives each variant — ``prior`` (train answer
prior), ``global``, ``global+<component>`` for each active component, ``fusion``, and the
task's own (VQA ``oracle``) — its per-instance credit (``Task.credit``), the headline score
(VQA accuracy, SNLI-VE accuracy, VCR Q→A accuracy, in percent, with the task's breakdowns) and
the paired bootstrap of fusion minus global. ``OutputWriter`` writes ``predictions.parquet``
and the official results files (``vqa_results.json``) as records arrive. The experiment loop
(``fgalign.experiment.run.run_experiment``) calls both, in process or on Ray.
"""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fgalign.align.batch import to_array
from fgalign.align.stage import calibrate_rows
from fgalign.config import Config, config_hash
from fgalign.data.synth.contrast import read_contrasts
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.experiment.outputs import temporary_name
from fgalign.metrics import paired_bootstrap
from fgalign.metrics.families import by_family
from fgalign.tasks import Task, get_task
from fgalign.variants import ORACLE, variant_column, variant_names


def variants_of(cfg: Config, task: str) -> list[str]:
    """The metrics variants of ``task``: ``prior``, those of ``fgalign.variants`` and the
    task's own (``Task.extra_variants``; VQA with ``tasks.vqa.oracle``: ``oracle``)."""
    return ["prior"] + variant_names(cfg.align) + get_task(task).extra_variants(cfg)


def variant_preds(task: Task, row: dict, variant: str, ctx: dict) -> tuple[int, int]:
    """(prediction, QA→R prediction or -1) of one row under one variant.

    The candidate at ``oracle_index`` (VQA: the best-credit answer the retrieval cut dropped,
    ``fgalign.tasks.vqa.retrieve``) is never predicted, except by the ``oracle`` variant.
    """
    if row.get("error"):
        return -1, -1
    if variant == "prior":
        return task.prior_predict(row, ctx)
    s = to_array(row[variant_column("fusion" if variant == ORACLE else variant)], 1)
    oracle = int(row.get("oracle_index", -1))
    if 0 <= oracle < len(s) and variant != ORACLE:  # only the oracle variant may pick it
        s = s.copy()
        s[oracle] = -np.inf
    return task.predict(row, s)


LIGHT_COLUMNS = ("uid", "error", "candidates", "target", "cand_group", "truncated_texts",
                 "no_regions", "no_keywords")  # what finalize reads of every task's rows,
# besides the variant scores and the task's own ``Task.prediction_columns``
CHUNK = 4096  # rows per streamed batch and per predictions part


def light_columns(tasks: list[Task]) -> list[str]:
    """The scored-row columns finalize reads, besides the variant scores: ``LIGHT_COLUMNS``
    and the union of the tasks' ``prediction_columns`` (in order, each once)."""
    return list(dict.fromkeys([*LIGHT_COLUMNS, *(c for t in tasks for c in t.prediction_columns)]))


CALIBRATE_CHUNK = 512  # rows per batch when the fit is applied (hydrated embeddings)


def _iter_rows(scored: Any, columns: list[str] | None,
               apply: Callable[[list[dict]], list[dict]] | None = None) -> Iterator[dict]:
    """Rows of a ``SplitRun`` (streamed from its cache) or of a list of dicts; ``apply``
    maps each batch of rows (all columns are read then: the calibration's inputs)."""
    if isinstance(scored, list):
        yield from (apply(scored) if apply is not None else scored)
        return
    for batch in scored.iter_batches(None if apply else columns,
                                     CALIBRATE_CHUNK if apply else CHUNK):
        n = len(next(iter(batch.values())))
        rows = [{k: v[i] for k, v in batch.items()} for i in range(n)]
        yield from (apply(rows) if apply is not None else rows)


def calibration(cfg: Config, task: str, ctx: dict, scored: Any
                ) -> Callable[[list[dict]], list[dict]] | None:
    """The function that applies ``task``'s fit in ``ctx`` to a batch of score-cache rows
    (``fgalign.align.stage.calibrate_rows``; rows hydrated from ``scored``'s tables when the
    fit reads embeddings), or None when ``ctx`` holds no fit."""
    t = get_task(task)
    if not t.fitted(ctx):
        return None
    gather = t.calibration_embeddings and not isinstance(scored, list)

    def apply(rows: list[dict]) -> list[dict]:
        if gather:
            rows = hydrate(rows, ImageRecords(scored.image_records), scored.tables,
                           cfg.keywords.max_keywords)
        return calibrate_rows(task, cfg.align, ctx, rows)

    return apply


def finalize_task(cfg: Config, task: str, ctx: dict, scored: Any,
                  writer: OutputWriter | None = None) -> dict[str, Any]:
    """Metrics (the metrics.json schema, one task) of scored rows, streamed in bounded batches.

    A split is labelled when some row carries its gold label (``is_labelled``). Scores are
    over the labelled rows and the error rows (counted as wrong); ``unlabelled`` counts the
    other rows, which are predicted but not scored. A split without labels (VQA test-dev,
    any split whose label field is absent) gets ``"labels": false`` and no score at all:
    ``variants`` and ``delta`` are empty, predictions carry no credit. ``truncated`` counts
    rows with a text cut to the text encoder's context (``fgalign.embed``); ``no_regions`` /
    ``no_keywords`` count rows scored without any region / with a candidate statement without
    any keyword, whose fine components are the global score (``fgalign.align.scores``),
    present when there is one.

    Args:
        cfg: the experiment config (variants, bootstrap).
        task: task name.
        ctx: the task context (priors for the ``prior`` variant).
        scored: a ``fgalign.engine.runner.SplitRun`` (its score cache is read ``CHUNK`` rows at a
            time; memory holds O(rows) numbers, never rows × candidates) or a list of row dicts.
        writer: receives prediction records and VQA results as they are made (None: they are
            returned in the result instead, for small inputs and tests).

    Returns:
        ``{"metrics": ...}`` plus, when no writer, ``"predictions"`` (records) and, for a task
        with an official results file (``Task.results_file``), ``"results"`` (its entries).
    """
    t = get_task(task)
    variants = variants_of(cfg, task)
    uids = [str(r["uid"]) for r in scored] if isinstance(scored, list) else scored.uids
    position = {u: i for i, u in enumerate(uids)}
    n = len(uids)
    credit = {v: np.zeros((n, 3)) for v in variants}  # (N, 3): headline, QA→R, Q→AR
    preds = {v: np.full((n, 2), -1, np.int64) for v in variants}
    stats: dict[str, list] = {}  # Task.row_stats, one (N,) list per key
    errors: Counter[str] = Counter()
    counted = np.zeros(n, bool)  # (N,) labelled or error rows: the scored ones
    # a split is labelled when some row carries its gold label (a first, light pass)
    labelled_any = any(t.is_labelled(r) for r in _iter_rows(scored, ["target"]))
    table = contrast_table(cfg, t)  # a synthetic world's contrast families (None: none)
    families: list[str] = ["unknown"] * n
    truncated = 0
    missing = Counter()  # rows whose components fell back to global (fgalign.align.scores)
    keep: list[dict] = []  # the records, when there is no writer
    results: list[dict] = []
    records: list[dict] = []
    columns = light_columns([t]) + [variant_column(v) for v in variants
                                    if v not in ("prior", ORACLE)]
    if table is not None and t.contrast_id not in columns:
        columns.append(t.contrast_id)
    for row in _iter_rows(scored, columns, calibration(cfg, task, ctx, scored)):
        i = position[str(row["uid"])]
        if row.get("error"):
            errors[str(row["error"])] += 1
        counted[i] = labelled_any and (bool(row.get("error")) or t.is_labelled(row))
        if table is not None:
            families[i] = t.contrast_family(row, table)
        truncated += int(row.get("truncated_texts") or 0) > 0
        if not row.get("error"):
            missing["no_regions"] += bool(row.get("no_regions", False))
            missing["no_keywords"] += int(row.get("no_keywords") or 0) > 0
        rec = {"uid": str(row["uid"]), "task": task, "error": str(row.get("error") or "")}
        row_preds = {}
        for v in variants:
            p, pr = variant_preds(t, row, v, ctx)
            if counted[i]:
                credit[v][i] = t.credit(row, p, pr)
            preds[v][i] = row_preds[v] = (p, pr)
            rec[f"pred_{v}"] = p
            rec[f"credit_{v}"] = float(credit[v][i, 0]) if counted[i] else None
            rec.update(t.variant_record(v, p, pr))
        rec.update(t.record(row, row_preds))
        for k, x in t.row_stats(row).items():
            stats.setdefault(k, [None] * n)[i] = x
        official = t.official_result(row, rec)
        if official is not None:
            results.append(official)
        records.append(rec)
        if len(records) >= CHUNK:
            keep += _flush(writer, task, records, results)
            records, results = [], []
    keep += _flush(writer, task, records, results)
    arrays = {k: np.asarray(x, dtype=object) for k, x in stats.items()}
    labels = bool(labelled_any)
    out_vars: dict[str, dict] = {}
    delta: dict[str, Any] = {}
    if labels:
        for v in variants:
            c = credit[v][counted]  # (M, 3)
            entry: dict[str, Any] = {"score": round(float(c[:, 0].mean()), 2)}
            entry.update(t.variant_metrics(c, preds[v][counted],
                                           {k: x[counted] for k, x in arrays.items()},
                                           entry["score"]))
            if table is not None:
                fam = [f for f, k in zip(families, counted) if k]
                entry["by_family"] = by_family(fam, c[:, 0], cfg.adapt.bootstrap,
                                               cfg.experiment.seed)
            out_vars[v] = entry
        boot = paired_bootstrap(credit["global"][counted, 0], credit["fusion"][counted, 0],
                                cfg.adapt.bootstrap, cfg.experiment.seed)
        delta = {"fusion_vs_global": {"mean": round(float(boot["mean"]), 2),
                                      "ci95": [round(float(x), 2) for x in boot["ci95"]]}}
    metrics = {"split": cfg.data.split, "n": n, "labels": labels,
               "errors": dict(sorted(errors.items())), "variants": out_vars, "delta": delta}
    if labels:  # what the scores are: the headline, then the variant's other keys
        metrics["metric"] = {"score": t.metric, **dict(t.metric_parts)}
    if labels and counted.sum() < n:
        metrics["unlabelled"] = int(n - counted.sum())
    if truncated:
        metrics["truncated"] = int(truncated)
    for key in ("no_regions", "no_keywords"):  # like truncated: present when there is one
        if missing[key]:
            metrics[key] = int(missing[key])
    metrics.update(t.split_metrics(cfg, ctx, arrays))
    result: dict[str, Any] = {"metrics": metrics}
    if writer is None:
        result["predictions"] = [r for r in keep if "uid" in r]
        if t.results_file:
            result["results"] = [r for r in keep if "uid" not in r]
    return result


def contrast_table(cfg: Config, task: Task) -> dict[str, str] | None:
    """The task's contrast families of ``data.split`` (``fgalign.data.synth.contrast``), or
    None for a root without a contrast file (a real dataset) or a task without a table."""
    if not cfg.data.root or not task.contrast_table:
        return None
    fams = read_contrasts(cfg.data.root, cfg.data.split)
    return None if fams is None else fams.get(task.contrast_table, {})


def _flush(writer: OutputWriter | None, task: str, records: list[dict], results: list[dict]
           ) -> list[dict]:
    if writer is None:
        return records + results
    writer.add_predictions(task, records)
    if results:
        writer.add_results(get_task(task).results_file, results)
    return []


class OutputWriter:
    """``predictions.parquet`` and the tasks' official results files, written as records arrive.

    Prediction records of each task go to Parquet parts under ``<out>/.predictions/``;
    ``close()`` merges them into one ``predictions.parquet`` (schemas unified, batch by batch)
    and completes each results file (``Task.results_file``, a JSON list: VQA's
    ``vqa_results.json`` in the official results format), written only when some task
    produced results for it.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.parts = self.out / ".predictions"
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True)
        self._n = 0
        self._results: dict[str, Any] = {}  # file name → open file
        self.rows = 0

    def add_predictions(self, task: str, records: list[dict]) -> None:
        if not records:
            return
        pq.write_table(pa.Table.from_pylist(records), self.parts / f"{self._n:06d}-{task}.parquet")
        self._n += 1
        self.rows += len(records)

    def add_results(self, name: str, results: list[dict]) -> None:
        """Append ``results`` to the JSON list of the results file ``name``."""
        f = self._results.get(name)
        body = ", ".join(json.dumps(r) for r in results)
        if f is None:  # written under a temporary name, renamed in close()
            f = self._results[name] = open(  # noqa: SIM115 - closed in close()
                temporary_name(self.out / name), "w", encoding="utf-8")
            f.write("[" + body)
        else:
            f.write(", " + body)

    def close(self) -> None:
        """Complete every file, each renamed into place only when whole."""
        for name, f in self._results.items():
            f.write("]")
            f.close()
            os.replace(temporary_name(self.out / name), self.out / name)
        self._results = {}
        files = sorted(self.parts.glob("*.parquet"))
        if files:
            schema = pa.unify_schemas([pq.read_schema(f) for f in files])
            tmp = temporary_name(self.out / "predictions.parquet")
            with pq.ParquetWriter(tmp, schema) as w:
                for f in files:
                    t = pq.read_table(f)
                    for name in schema.names:
                        if name not in t.column_names:
                            t = t.append_column(name, pa.nulls(t.num_rows, schema.field(name).type))
                    w.write_table(t.select(schema.names).cast(schema))
            os.replace(tmp, self.out / "predictions.parquet")
        shutil.rmtree(self.parts, ignore_errors=True)


def format_table(metrics: dict) -> str:
    """Plain-text table: task, variant, score (and VCR parts), then the fusion delta.

    A task without labels, or skipped, gets one line saying so instead of scores.
    """
    w = max([8] + [len(t) for t in metrics["tasks"]])  # task column width
    lines = [f"{'task':{w}} {'variant':26} {'score':>7}"]
    for task, m in metrics["tasks"].items():
        if "skipped" in m:
            lines.append(f"{task:{w}} skipped: {m['skipped']}")
            continue
        if not m.get("labels", True):
            lines.append(f"{task:{w}} no labels in split {m['split']}: {m['n']} rows predicted, "
                         f"not scored (errors={sum(m['errors'].values())})")
            continue
        for v, e in m["variants"].items():
            extra = f"  q2a {e['q2a']:.2f} qa2r {e['qa2r']:.2f} q2ar {e['q2ar']:.2f}" \
                if "q2ar" in e else ""
            lines.append(f"{task:{w}} {v:26} {e['score']:7.2f}{extra}")
        d = m["delta"]["fusion_vs_global"]
        lines.append(f"{task:{w}} {'fusion - global':26} {d['mean']:+7.2f}  95% CI "
                     f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]  (n={m['n']}, "
                     f"errors={sum(m['errors'].values())})")
    return "\n".join(lines)


def skipped_task(cfg: Config, err: Exception) -> dict[str, Any]:
    """metrics.json entry of a task skipped for an empty split (``EmptySplitError``): no score."""
    return {"split": cfg.data.split, "n": 0, "skipped": str(err)}


def run_dir(cfg: Config) -> Path:
    """``<output_dir>/<experiment>/<config hash>``."""
    return Path(cfg.experiment.output_dir) / cfg.experiment.name / config_hash(cfg)
