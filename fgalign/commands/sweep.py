"""``fgalign sweep --config configs/sweeps/demo.yaml [--set k=v ...] [--resume] [--out DIR]``.

A Ray Tune sweep of the adaptation hyperparameters (search space, Optuna + ASHA settings,
trial resources and the held-out target in the sweep spec; see ``fgalign.sweep``):

1. the experiment's embeddings for the sources' train/val splits and the target's evaluation
   split are filled into the stage caches (Ray Data; nothing is recomputed when they exist);
2. ``num_samples`` trials train from those caches only (no CLIP), reporting the source-val
   score every epoch (ASHA stops weak ones), checkpoints in ``<out>/tune``; ``--resume``
   continues an interrupted sweep (``Tuner.restore``);
3. the best trial by source val is scored once on the held-out target.

Outputs in ``<out>`` (default ``runs/<experiment>/sweeps/<spec>-<hash>``): ``best.json``,
``trials.csv``, ``sweep.yaml`` (the spec), ``config.yaml``, Tune's folder and W&B runs (offline
without a key). The folder is printed at the end. Expected time on 2 CPU cores with cached
embeddings: ~20-40 s per trial (demo world).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="sweep spec (configs/sweeps/*.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of the experiment config (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep")
    p.add_argument("--out", help="sweep folder (default runs/<experiment>/sweeps/<spec>-<hash>)")
    p.add_argument("--caches", choices=("ray", "inprocess"), default="ray",
                   help="how missing embedding caches are computed (default: Ray Data)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="Ray Tune sweep of the adaptation hyperparameters",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def sweep_dir(spec, cfg) -> Path:
    """``<output_dir>/<experiment>/sweeps/<spec stem>-<hash of spec + config>``."""
    from fgalign.config import config_hash, to_dict

    name = Path(spec.path or "sweep").stem
    h = config_hash({"spec": spec.model_dump(mode="json"), "config": to_dict(cfg)})
    return Path(cfg.experiment.output_dir) / cfg.experiment.name / "sweeps" / f"{name}-{h}"


def run(args: argparse.Namespace) -> int:
    import json

    import yaml

    from fgalign.adapt.caches import embed_seconds, fill_caches, needed_keys
    from fgalign.commands.common import session
    from fgalign.config import apply_overrides, dump_yaml, to_dict
    from fgalign.load import build_config
    from fgalign.sweep import load_sweep_spec, run_sweep

    spec = load_sweep_spec(args.config)
    cfg = spec.experiment_config()
    if args.overrides:
        cfg = build_config(apply_overrides(to_dict(cfg), args.overrides), "--set")
    from fgalign.data.synth import resolve_world

    cfg = resolve_world(cfg)  # generate a missing world; read a world's layout + identity
    out = Path(args.out) if args.out else sweep_dir(spec, cfg)
    with session(cfg, out) as lazy_ray:
        (out / "sweep.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"),
                                                       sort_keys=False))
        (out / "config.yaml").write_text(dump_yaml(cfg))
        lazy_ray.ensure()
        caches, _ = fill_caches(cfg, needed_keys(cfg, spec.target), use_ray=args.caches == "ray")
        best = run_sweep(spec, cfg, caches, out, resume=args.resume,
                         embed_time_s=embed_seconds(caches))
    d = best["delta"]
    print(json.dumps({k: best[k] for k in ("target", "params", "source_val", "zero_shot",
                                           "adapted", "time_per_trial_s", "embed_time_s")},
                     indent=1, default=str))
    print(f"{best['target']}: best of {best['trials']} trials (source val "
          f"{best['source_val']:.2f}) → target {best['adapted']:.2f} vs zero-shot "
          f"{best['zero_shot']:.2f}, delta {d['mean']:+.2f} [{d['ci95'][0]:+.2f}, "
          f"{d['ci95'][1]:+.2f}]")
    print(out.resolve())
    return 0
