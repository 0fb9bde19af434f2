"""The full fgalign experiment on Ray Data: VQA, SNLI-VE and VCR as CLIP image-text matching
with region-word alignment (same as ``fgalign run``).

Launch::

    make demo                                                   # = the next line
    python pipelines/full.py --config configs/demo.yaml         # embedded local Ray, CPU
    python pipelines/full.py --config configs/demo.yaml --set align.tau=0.1   # re-scores only
    python pipelines/full.py --config configs/demo.yaml --force embed         # embed, score again
    python pipelines/full.py --config configs/demo.yaml --no-wandb
    ray up cluster.yaml
    ray submit cluster.yaml pipelines/full.py -- --config configs/vqav2.yaml \\
        --set data.root=/mnt/data/vqav2 --set experiment.output_dir=s3://bucket/fgalign/runs
    ray job submit --address http://<head>:8265 --working-dir . -- \\
        python pipelines/full.py --config configs/vcr.yaml --set data.root=/mnt/data/vcr

Graph: every input set of the run (each task's calibration sets and evaluated split) goes
through the stages together: one Ray Data execution proposes and embeds every distinct image
(RegionProposer → ImageEmbedder actor pools, CLIP once per actor, ``num_gpus`` from config),
one streams every set's rows through the candidate, keyword, text-embedding and scoring pools
at the same time, and one more scores the sets whose task calibrated on the first two
(``fgalign.engine.runner``). Each stage's output per set is a Parquet cache under
``runs/<experiment>/stages/`` keyed by the dataset, the stage config and all upstream configs:
a re-run with the same config reads every cache and starts no Ray; a scorer-only change
recomputes only scoring; a killed run resumes after the stages it had committed.

Runtime: README.md ("What the two commands do") has the measured times.

Outputs in ``runs/<experiment>/<config hash>/``: config.yaml, metrics.json, predictions.parquet,
vqa_results.json, figures/*.png, stages.json, timings.json, report.md / report.html, and the
W&B run under wandb/ (offline unless WANDB_API_KEY is set; ``wandb sync`` uploads it).
A summary table (score per task and variant, then the stages) is printed at the end.
"""
from __future__ import annotations

import sys

from fgalign import cli


def main(argv: list[str] | None = None) -> int:
    """``fgalign run`` with these arguments; a bad config: one error line, exit status 2."""
    return cli.main(["run", *(sys.argv[1:] if argv is None else argv)], prog="full.py")


if __name__ == "__main__":
    sys.exit(main())
