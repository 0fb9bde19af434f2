"""``fgalign ablate --config configs/ablations/demo.yaml [--set k=v ...] [--out DIR]``.

Runs the ablation grid of the spec (``fgalign.ablate``): for each (proposer, backbone) the
embeddings are filled into the stage caches once (Ray Data), then every cell — scoring
component × task — is one Ray task reading those caches (no CLIP), in parallel across the
cluster. Writes to ``<out>`` (default ``runs/<experiment>/ablations/<spec>-<hash>``):
``ablation.csv`` and ``ablation.md`` (score with 95% bootstrap interval, paired difference to
global-only matching with its interval), ``ablation.png`` (bars with CI whiskers),
``scores.json`` (per-instance scores of every cell), ``ablation.yaml`` (the spec),
``command.txt``, and a W&B run with the table (offline without a key).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="ablation spec (configs/ablations/*.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the experiment config (repeatable)")
    p.add_argument("--out", help="output folder (default runs/<experiment>/ablations/...)")
    p.add_argument("--caches", choices=("ray", "inprocess"), default="ray",
                   help="how missing embedding caches are computed (default: Ray Data)")
    p.add_argument("--cells", choices=("ray", "inprocess"), default="ray",
                   help="run the cells as Ray tasks (default) or one after the other in this "
                        "process (no Ray; with --caches inprocess Ray never starts)")
    p.add_argument("--no-wandb", action="store_true", help="do not log to W&B")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ablate", help="ablation grid: components x tasks x proposers x backbones",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from fgalign.ablate import keys_for, load_ablation_spec, to_markdown
    from fgalign.adapt.caches import fill_caches
    from fgalign.commands.common import session
    from fgalign.config import config_hash, to_dict

    spec = load_ablation_spec(args.config)
    spec = spec.model_copy(update={"overrides": spec.overrides + args.overrides})
    settings = sorted({c.setting for c in spec.cells()})
    from fgalign.data.synth import resolve_world

    # generate a missing world once; every setting reads its layout + identity
    cfgs = {s: resolve_world(spec.cell_config(*s)) for s in settings}
    first = cfgs[settings[0]]
    out = Path(args.out) if args.out else (
        Path(first.experiment.output_dir) / first.experiment.name / "ablations" /
        f"{Path(spec.path or 'ablation').stem}-"
        f"{config_hash({s[0] + '/' + s[1]: to_dict(c) for s, c in cfgs.items()})}")
    with session(first, out) as lazy_ray:
        (out / "ablation.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"),
                                                          sort_keys=False))
        if args.caches == "ray" or args.cells == "ray":
            lazy_ray.ensure()
        caches = {s: fill_caches(c, keys_for(spec, c), use_ray=args.caches == "ray")[0]
                  for s, c in cfgs.items()}
        rows = run_grid(spec, cfgs, caches, out, use_wandb=not args.no_wandb,
                        in_process=args.cells == "inprocess")
    print(to_markdown(rows))
    print(out.resolve())
    return 0


def run_grid(spec, cfgs: dict, caches: dict, out: Path, use_wandb: bool = True,
             in_process: bool = False) -> list[dict]:
    """Every cell as a Ray task on cached embeddings, then the table, chart and W&B table.

    Args:
        spec: the ``AblationSpec``.
        cfgs: ``(proposer, backbone) → Config``.
        caches: ``(proposer, backbone) → {"task/split": cache path}``.
        out: output folder.
        use_wandb: log the table and chart to W&B (when the config and spec allow it).
        in_process: run the cells one after the other here instead (same function, same
            numbers; no Ray).
    """
    from tqdm import tqdm

    from fgalign.ablate import build_table, evaluate_cell
    from fgalign.config import to_dict

    results = []
    if in_process:
        for c in tqdm(spec.cells(), desc="cells", disable=None):
            results.append(evaluate_cell(to_dict(cfgs[c.setting]), c, caches[c.setting]))
    else:
        import ray

        task = ray.remote(num_cpus=spec.resources.get("num_cpus", 1.0),
                          num_gpus=spec.resources.get("num_gpus", 0.0))(evaluate_cell)
        futures = [task.remote(to_dict(cfgs[c.setting]), c, caches[c.setting])
                   for c in spec.cells()]
        with tqdm(total=len(futures), desc="cells", disable=None) as bar:
            while futures:
                done, futures = ray.wait(futures)
                results += ray.get(done)
                bar.update(len(done))
    first = next(iter(cfgs.values()))
    rows = build_table(results, first.adapt.bootstrap, first.experiment.seed)
    write_outputs(out, rows, results)
    if first.logging.wandb and spec.wandb and use_wandb:
        from fgalign.logging import WandbLogger

        logger = WandbLogger(first.logging.project, out, name=f"ablation-{out.name}",
                             entity=first.logging.entity)
        logger.log_config(spec.model_dump(mode="json"))
        logger.log_table("ablation", rows)
        logger.log_images("ablation_chart", [out / "ablation.png"])
        logger.close()
    return rows


def write_outputs(out: Path, rows: list[dict], results: list[dict]) -> None:
    """ablation.csv / .md / .png and the per-instance scores.json."""
    import csv
    import json
    from dataclasses import asdict

    from fgalign.ablate import bar_chart, to_markdown

    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "ablation.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    (out / "ablation.md").write_text(to_markdown(rows))
    bar_chart(rows, out / "ablation.png")
    (out / "scores.json").write_text(json.dumps(
        [{**asdict(r["cell"]), "scores": [round(float(x), 2) for x in r["scores"]]}
         for r in results]))
