"""``StageSpec``: one stage of the graph, how to build it and the hash of its config.

    spec = make_spec(cfg, "keywords", KeywordExtractor, {"extractor": "rule", "max_keywords": 8})
    stage = spec.cls(**spec.kwargs)          # in the executor's worker (Ray actor or process)

``StageSpec.hash`` covers the stage's kwargs, its class's ``VERSION`` and fgalign's version;
the graph chains it with every upstream hash (``fgalign.engine.runner``). ``kwargs`` are picklable
(configs as dicts, the task context as plain data); keys in ``UNHASHED`` (paths that the
chained hashes already determine) are left out of the hash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fgalign
from fgalign.config import Config, RowFailureCfg, StageResources, config_hash
from fgalign.engine.rowguard import RowGuard

UNHASHED = ("root", "tables", "image_records",  # kwargs determined by hashes already chained
            "task_module")  # determined by the task's name


@dataclass
class StageSpec:
    """One stage of the graph: how to build it, with what resources, and its config hash."""

    name: str
    cls: type
    kwargs: dict[str, Any]
    resources: StageResources
    hash: str
    row_failures: RowFailureCfg = field(default_factory=RowFailureCfg)  # when raising rows mean a broken stage

    def guard(self) -> RowGuard:
        """A fresh ``RowGuard`` for this stage (rows that raise → error rows; broken → raise)."""
        return RowGuard(self.name, self.row_failures.max_share, self.row_failures.min_rows)


def make_spec(cfg: Config, name: str, cls: type, kwargs: dict[str, Any]) -> StageSpec:
    """The ``StageSpec`` of stage ``name`` built as ``cls(**kwargs)``, resources from
    ``ray.stages.<name>``."""
    hashed = {k: v for k, v in kwargs.items() if k not in UNHASHED}
    return StageSpec(name, cls, kwargs, cfg.ray.stages.get(name, StageResources()),
                     config_hash({"stage": name, "cls": cls.__name__,
                                  "version": getattr(cls, "VERSION", 1),
                                  "fgalign": fgalign.__version__, **hashed}),
                     cfg.ray.row_failures)
