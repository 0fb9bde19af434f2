"""``fgalign evaluate``: every task in this process, no Ray, no W&B; writes metrics.json.

    metrics = evaluate(load_config("configs/demo.yaml"))

The experiment loop of the Ray pipeline (``fgalign.ray.pipeline.run_experiment``) with the
in-process executor: same stage graph, caches and outputs. It writes into
``runs/<experiment>/<config hash>/``: ``config.yaml``, ``metrics.json`` (schema of DESIGN.md),
``predictions.parquet``, ``vqa_results.json`` (official results format) and
``figures/<task>_alignment.png``; the metrics come from ``fgalign.finalize``.
"""
from __future__ import annotations

from typing import Any

from fgalign.config import Config
from fgalign.ray.pipeline import run_experiment


def evaluate(cfg: Config, figures: bool = True) -> dict[str, Any]:
    """Run every task of ``cfg.data.tasks`` in this process; write and return metrics.json.

    The same experiment loop as the Ray pipeline (``fgalign.ray.pipeline.run_experiment``)
    with the in-process executor: same stage graph, caches and outputs, no Ray, no W&B.
    """
    result = run_experiment(cfg, use_ray=False, use_wandb=False, figures=figures,
                            command="fgalign evaluate")
    return {**result["metrics"], "run_dir": result["run_dir"]}
