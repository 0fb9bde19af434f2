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

Graph, per task: rows (driver) → RegionProposer → KeywordExtractor → Embedder (CLIP, once per
actor, ``num_gpus`` from config) → AlignmentScorer actor pools, each a separate Ray Data
operator whose output is cached as Parquet under ``runs/<experiment>/stages/<task>/`` and
keyed by the dataset, the stage config and all upstream configs → metrics on the driver.
A re-run with the same config reads every cache and recomputes nothing; a scorer-only change
recomputes only scoring; a killed run resumes after the last completed stage.

Runtime: the demo (600-scene synthetic world, bundled shapes-tiny backbone) takes a few minutes
on 2 CPU cores the first time; a second run only reads caches (dominated by Ray start-up and
the driver-side task preparation). Measured times are in README.md.

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
