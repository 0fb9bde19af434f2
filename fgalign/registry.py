"""One small registry per pluggable kind: ``register`` by name, ``create`` by name, ``list``.

Usage (timm / big_vision style)::

    PROPOSERS = Registry("proposer")

    @PROPOSERS.register("segment")
    class SegmentProposer: ...

    proposer = PROPOSERS.create("segment", max_regions=8)

An unknown name raises ``KeyError`` listing the known names.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Registry:
    """A name → factory mapping for one kind of pluggable component."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator registering ``fn_or_cls`` under ``name`` (names are unique)."""

        def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> Callable[..., Any]:
        """The registered factory for ``name``; ``KeyError`` naming the known ones."""
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[name]

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build the component registered as ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def list(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
