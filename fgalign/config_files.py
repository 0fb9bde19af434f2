"""Validate any YAML file under configs/: an experiment config (``fgalign.load``), a sweep
spec (``configs/sweeps/``, ``fgalign.sweep``) or an ablation spec (``configs/ablations/``,
``fgalign.ablate``), chosen by the name of the file's folder.

    spec_or_cfg = load_any_config("configs/sweeps/adapt_lr.yaml")

Raises ``fgalign.config.ConfigError`` naming every bad key.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from fgalign.ablate import load_ablation_spec
from fgalign.load import load_config
from fgalign.sweep import load_sweep_spec

LOADERS = {"sweeps": load_sweep_spec, "ablations": load_ablation_spec}  # by folder name


def load_any_config(path: str | Path) -> BaseModel:
    """The validated file at ``path``: a sweep / ablation spec or an experiment ``Config``."""
    return LOADERS.get(Path(path).parent.name, load_config)(path)
