"""``lazy_names``: a package's public names imported from their submodules on first use.

    __all__ = ["AlignBatch", "collate", "fuse", ...]
    __getattr__, __dir__ = lazy_names(__name__, __all__, {"AlignBatch": "batch"}, "scores")

PEP 562 (module ``__getattr__`` / ``__dir__``): ``import fgalign.align.columns`` then imports
``fgalign.align`` without its torch submodules, so the Ray driver plans without torch
(``tests/test_driver_imports.py``).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, names: list[str], home: dict[str, str], default: str
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each of ``names`` comes from
    ``<package>.<home[name]>`` (``default`` when not in ``home``), imported on first use.

    Raises (the returned ``__getattr__``):
        AttributeError: a name not in ``names``, as for any module.
    """
    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home.get(name, default)}"), name)

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
