"""One leave-one-task-out adaptation run end to end: caches → fit → final evaluation → files.

    result = run_adapt(cfg, "snli_ve")     # what ``fgalign adapt`` prints with --json

Writes ``<run dir>/adapt/<target>/`` (run dir = ``runs/<experiment>/<config hash>``):
``result.json`` (target, sources, zero_shot, adapted, delta, best epoch, source-val score,
learned τ / λ, timings), ``history.csv`` (one row per epoch: loss, source val per task, τ, λ),
``adapter.safetensors`` (the selected weights) and ``config.yaml``.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from fgalign.adapt.caches import fill_caches, needed_keys
from fgalign.adapt.protocol import leave_one_out, open_store
from fgalign.adapt.train import sources_of
from fgalign.config import Config, ConfigError, dump_yaml
from fgalign.data.synth import resolve_world
from fgalign.experiment.finalize import run_dir

PUBLIC = ("target", "sources", "zero_shot", "adapted", "delta")  # the --json contract first


def adapt_dir(cfg: Config, target: str) -> Path:
    return run_dir(cfg) / "adapt" / target


def run_adapt(cfg: Config, target: str, use_ray: bool = False,
              out_dir: str | Path | None = None) -> dict[str, Any]:
    """Fill the embedding caches, adapt on the other tasks, score ``target``, write files.

    Args:
        cfg: experiment config (``adapt`` hyperparameters, ``data.tasks`` incl. the target).
        target: held-out task.
        use_ray: fill missing caches with Ray Data (Ray must be up) instead of in-process.
        out_dir: output folder (default ``adapt_dir(cfg, target)``).
    """
    from safetensors.torch import save_file

    if target not in cfg.data.tasks:
        raise ConfigError(f"data.tasks: --target {target} is not in data.tasks "
                          f"{cfg.data.tasks}")
    sources_of(cfg, target)  # ConfigError when no source task is left, before any work

    cfg = resolve_world(cfg)  # generate a missing world; read a world's layout + identity
    caches, info = fill_caches(cfg, needed_keys(cfg, target), use_ray=use_ray)
    t0 = time.perf_counter()
    result, fitted = leave_one_out(cfg, target, open_store(cfg, caches, target))
    result.pop("per_instance")
    out = {**{k: result[k] for k in PUBLIC}, **{k: v for k, v in result.items()
                                                  if k not in PUBLIC},
           "adapt_s": round(time.perf_counter() - t0, 1), "embed_s": round(info["embed_s"], 1),
           "caches": caches}
    folder = Path(out_dir) if out_dir else adapt_dir(cfg, target)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(dump_yaml(cfg))
    (folder / "result.json").write_text(json.dumps(out, indent=2))
    save_file({k: v.contiguous() for k, v in fitted.model.state_dict().items()},
              str(folder / "adapter.safetensors"))
    keys = list(dict.fromkeys(k for h in fitted.history for k in h))
    with open(folder / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(fitted.history)
    out["out_dir"] = str(folder)
    return out
