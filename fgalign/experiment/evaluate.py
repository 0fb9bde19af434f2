"""``fgalign evaluate``: every task in this process, no Ray, no W&B; writes metrics.json.

    metrics = evaluate(load_config("configs/demo.yaml"))

The experiment loop of the Ray pipeline (``fgalign.experiment.run.run_experiment``) with the
in-process executor: same stage graph, caches and outputs. It writes into
``runs/<experiment>/<config hash>/``: ``config.yaml``, ``metrics.json`` (schema: README, "Outputs of a run"),
``predictions.parquet``, ``vqa_results.json`` (official results format) and
``figures/<task>_alignment.png``; the metrics come from ``fgalign.experiment.finalize``.
"""
from __future__ import annotations

from typing import Any

from fgalign.config import Config
from fgalign.experiment.run import run_experiment


def evaluate(cfg: Config, figures: bool = True, command: str = "fgalign evaluate"
             ) -> dict[str, Any]:
    """Run every task of ``cfg.data.tasks`` in this process; write and return metrics.json.

    The same experiment loop as the Ray pipeline (``fgalign.experiment.run.run_experiment``)
    with the in-process executor: same stage graph, caches and outputs, no Ray, no W&B.
    ``command`` is recorded in ``command.txt`` and report.md (the CLI passes its own).
    """
    result = run_experiment(cfg, use_ray=False, use_wandb=False, figures=figures,
                            command=command)
    return {**result["metrics"], "run_dir": result["run_dir"]}
