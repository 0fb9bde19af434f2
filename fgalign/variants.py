"""Scoring variants: one name → one experiment, for metrics.json, ablations, adaptation, reports.

A variant is what is fused on top of the global score ``cos(image, statement)``::

    global        no fine component                              weights {}
    global+<c>    one fine component c, with its configured λ_c  weights {c: λ_c}
    fusion        every active fine component                    weights {c: λ_c, c active}
    adapted       ``fusion`` + the contrastive adaptation (fgalign.adapt); its zero-shot
                  starting point has the ``fusion`` weights

A fine component c is **active** in an ``align`` config when it is computed
(``c in align.components``) and on (``align.weights.get(c, 0) != 0``; a missing λ is 0, off).

Semantics, chosen so that a variant's name always means the same fused score:

- ``global+<c>`` uses exactly the configured λ_c (never a substitute such as 1.0). It is
  **defined** only when c is active; for a computed component with λ = 0 it would equal
  ``global``, and an uncomputed component has no score. ``Variant.check`` raises
  ``VariantError`` naming the cause, so an ablation spec asking for it fails when it loads.
- ``variants_of(align)`` lists every defined non-adapted variant, in the order ``global``,
  ``global+<c>`` (``align.components`` order), ``fusion``; the score stage and metrics.json
  write exactly these, so nothing is dropped or renamed behind the user's back.
- ``fusion`` uses the active components only. A non-zero λ for a component that is not in
  ``align.components`` is rejected when the config loads (``align_problems``), so the two lists
  can differ only by computed-but-off components (λ = 0 or missing), which every consumer
  leaves out of the fusion the same way.

Fine-grained component names live here once (``FINE``); the scoring functions are registered
under the same names in ``fgalign.align.scores.COMPONENTS`` (a test checks they agree).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

FINE: tuple[str, ...] = ("region_word", "region_sentence", "tag_text",  # fine components
                         "count", "size", "relation")  # the last three: fgalign.align.compose
GLOBAL = "global"  # the coarse component every variant starts from
ORACLE = "oracle"  # VQA metrics variant: fusion with the best-credit answer the candidate cut dropped

def score_column(component: str) -> str:
    """Name of a component's per-candidate score column (score cache, scored-row dicts)."""
    return f"scores_{component}"


def variant_column(variant: str) -> str:
    """Name of a variant's per-candidate fused-score column (score cache, scored-row dicts)."""
    return f"vscore_{variant}"


Kind = Literal["global", "single", "fusion", "adapted"]


class VariantError(ValueError):
    """A variant name is unknown, or not defined by the given ``align`` config."""


class AlignLike(Protocol):
    """What variants read of an ``align`` config section (``fgalign.config.AlignCfg``)."""

    components: list[str]
    weights: dict[str, float]


def active_components(align: AlignLike) -> list[str]:
    """Fine components computed and on (λ ≠ 0), in ``align.components`` order."""
    return [c for c in align.components if c != GLOBAL and align.weights.get(c, 0.0)]


def align_problems(components: Sequence[str], weights: Mapping[str, float]
                   ) -> list[tuple[str, str]]:
    """Contradictions between ``align.components`` and ``align.weights``: (dotted key, why).

    Names must be fine components (``global`` is allowed in ``components``: it is always
    computed), listed once; a non-zero λ needs its component computed. ``fgalign.config``
    rejects a config with any problem when it loads.
    """
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, c in enumerate(components):
        if c != GLOBAL and c not in FINE:
            out.append((f"components.{i}", f"unknown fine component {c!r}; known: {', '.join(FINE)}"))
        elif c in seen:
            out.append((f"components.{i}", f"{c!r} is listed twice"))
        seen.add(c)
    for c, lam in weights.items():
        if c not in FINE:
            out.append((f"weights.{c}", f"unknown fine component {c!r}; known: {', '.join(FINE)}"))
        elif lam and c not in seen:
            why = (f"λ = {lam} but {c!r} is not in align.components (it is never computed); "
                   "add it there or set its λ to 0")
            out.append((f"weights.{c}", why))
    return out


@dataclass(frozen=True, order=False)
class Variant:
    """One scoring variant (see the module docstring). Build it with ``Variant.parse``."""

    kind: Kind
    component: str | None = None  # the fine component of a ``single`` variant

    @classmethod
    def parse(cls, name: str) -> Variant:
        """``"global"`` | ``"global+<c>"`` (c in ``FINE``) | ``"fusion"`` | ``"adapted"``.

        Raises ``VariantError`` naming the known forms on anything else.
        """
        if name in ("global", "fusion", "adapted"):
            return cls(name)  # type: ignore[arg-type]
        head, sep, comp = str(name).partition("+")
        if head == GLOBAL and sep and comp in FINE:
            return cls("single", comp)
        raise VariantError(f"unknown variant {name!r}; known: global, "
                           + ", ".join(f"global+{c}" for c in FINE) + ", fusion, adapted")

    @property
    def name(self) -> str:
        """The name every table, column (``vscore_<name>``) and metrics key uses."""
        return f"global+{self.component}" if self.kind == "single" else self.kind

    def __str__(self) -> str:
        return self.name

    def check(self, align: AlignLike) -> None:
        """Raise ``VariantError`` when ``align`` does not define this variant."""
        if self.kind != "single":
            return
        c = self.component
        if c not in align.components:
            raise VariantError(f"variant {self.name} is not defined: {c!r} is not in "
                               "align.components")
        if not align.weights.get(c, 0.0):
            raise VariantError(f"variant {self.name} is not defined: align.weights.{c} is 0 "
                               "(the component is off, so it would equal 'global'); give it "
                               "a non-zero λ to ablate it")

    def weights(self, align: AlignLike) -> dict[str, float]:
        """Fusion λ per fine component of this variant (``adapted``: its zero-shot start).

        Only the variant's components appear; ``global`` always has weight 1 in ``fuse``.
        Raises ``VariantError`` when ``align`` does not define the variant.
        """
        self.check(align)
        if self.kind == "global":
            return {}
        if self.kind == "single":
            return {self.component: float(align.weights[self.component])}
        return {c: float(align.weights[c]) for c in active_components(align)}

    def components(self, align: AlignLike) -> list[str]:
        """The fine components this variant fuses, in ``align.components`` order."""
        return list(self.weights(align))

    @property
    def order(self) -> int:
        """Table position: global, global+<c> in ``FINE`` order, fusion, adapted."""
        if self.kind == "single":
            return 1 + FINE.index(self.component)
        return {"global": 0, "fusion": 1 + len(FINE), "adapted": 2 + len(FINE)}[self.kind]


def variants_of(align: AlignLike) -> list[Variant]:
    """Every non-adapted variant ``align`` defines: global, global+<c> per active c, fusion."""
    return ([Variant("global")] + [Variant("single", c) for c in active_components(align)]
            + [Variant("fusion")])


def variant_names(align: AlignLike) -> list[str]:
    """Names of ``variants_of(align)`` (the ``vscore_<name>`` columns and metrics variants)."""
    return [v.name for v in variants_of(align)]


ALL_VARIANTS: tuple[str, ...] = tuple(
    ["global"] + [f"global+{c}" for c in FINE] + ["fusion", "adapted"])  # every parseable name
