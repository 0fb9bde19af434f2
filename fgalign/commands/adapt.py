"""``fgalign adapt --config FILE --target TASK [--set k=v ...] [--json] [--ray]``.

Leave-one-task-out contrastive adaptation: trains the adapter on every task of ``data.tasks``
but ``--target`` (their train splits; selection on their val splits), then scores the target's
``data.split`` zero-shot and adapted. Embeddings come from the stage caches (computed once,
in-process or with ``--ray``). Prints a summary, or with ``--json``::

    {"target": "snli_ve", "sources": ["vqa", "vcr"], "zero_shot": 61.2, "adapted": 64.0,
     "delta": {"mean": 2.8, "ci95": [1.1, 4.4]}, ...}

For a VQA or VCR target the summary (and ``by_question`` in the JSON) also gives both scores
per question prefix (its first two words), which shows where the transfer gains or loses.

Files: ``runs/<experiment>/<config hash>/adapt/<target>/`` (result.json, history.csv,
adapter.safetensors, config.yaml).
"""
from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    from fgalign.cli import TASK_METAVAR, add_config_args, task_arg

    p = sub.add_parser("adapt", help="contrastive multi-task adaptation, tested on a held-out task",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(p)
    p.add_argument("--target", required=True, type=task_arg, metavar=TASK_METAVAR,
                   help="held-out task")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--ray", action="store_true", help="fill missing caches with Ray Data")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fgalign.load import load_config

    cfg = load_config(args.config, args.overrides)  # a typo fails here, before any stage runs
    from fgalign.adapt.run import run_adapt
    from fgalign.models.weights import check_weights

    check_weights(cfg.model)
    started = False
    if args.ray:
        from fgalign.ray.runtime import init_ray

        started = init_ray(cfg.ray)
    try:
        out = run_adapt(cfg, args.target, use_ray=args.ray)
    finally:
        if started:
            import ray

            ray.shutdown()
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "caches"}, indent=2))
    else:
        d = out["delta"]
        print(f"{out['target']} (adapted on {' + '.join(out['sources'])}): zero-shot "
              f"{out['zero_shot']:.2f} → adapted {out['adapted']:.2f}, delta {d['mean']:+.2f} "
              f"95% CI [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}] (n={out['n']})")
        for group, g in out.get("by_question", {}).items():
            print(f"  {group or '(no text)':<16} n={g['n']:<5} zero-shot {g['zero_shot']:6.2f} → "
                  f"adapted {g['adapted']:6.2f}")
        print(f"written to {out['out_dir']}")
    return 0
