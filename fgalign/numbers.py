"""Numeric setting types with their real bounds, shared by the config and the constructors of
the registries' components (proposers, keyword extractors), whose dict-valued params
(``regions.params``, ``keywords.params``) are checked against these annotations at load.

A number is a number however YAML spells it: PyYAML reads ``1e-3`` and ``1e2`` (no dot) as
strings, so numeric strings are parsed; ``true`` / ``false`` are not numbers; ``.nan`` and
``.inf`` are refused everywhere (``Finite``)::

    class SegmentProposer:
        def __init__(self, fg_threshold: NonNegative = 40.0, max_regions: Size | None = 8): ...
"""
from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError


def _not_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise PydanticCustomError("not_a_number", "expected a number, not a boolean")
    return v


def _float(v: Any) -> Any:
    """``v`` as a float when it is a numeric string (``"1e-3"``); booleans are refused."""
    v = _not_bool(v)
    if isinstance(v, str):
        try:
            return float(v.strip().replace("_", ""))
        except ValueError:
            return v  # pydantic reports it as not a number
    return v


def _int(v: Any) -> Any:
    """``v`` as an int when it is an integral number or numeric string (``"1e2"``, ``100.0``)."""
    v = _float(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


Finite = Annotated[float, BeforeValidator(_float), Field(allow_inf_nan=False)]  # any finite float
Positive = Annotated[float, BeforeValidator(_float), Field(gt=0, allow_inf_nan=False)]  # > 0
NonNegative = Annotated[float, BeforeValidator(_float), Field(ge=0, allow_inf_nan=False)]  # ≥ 0
Share = Annotated[float, BeforeValidator(_float), Field(ge=0, le=1, allow_inf_nan=False)]  # [0, 1]
Size = Annotated[int, BeforeValidator(_int), Field(ge=1)]  # a size / count of things, ≥ 1
Count = Annotated[int, BeforeValidator(_int), Field(ge=0)]  # a number of rows etc., ≥ 0
Seed = Annotated[int, BeforeValidator(_int), Field(ge=0, lt=2**32)]  # numpy accepts [0, 2**32)


def check_kwargs(factory: Any, params: dict[str, Any], what: str) -> dict[str, Any]:
    """``params`` validated against the keyword parameters of ``factory`` (a class or function):
    names must be parameters (unless it takes ``**kwargs``), values must match their annotations
    (bounds included: ``Size``, ``Share``, ...) and are returned converted (``"1e1"`` → 10.0).

    Raises:
        ValueError: ``"<key>: <why>"`` for the first bad key (``what`` names the factory).
    """
    from pydantic import TypeAdapter, ValidationError

    init = factory.__init__ if inspect.isclass(factory) else factory
    sig = inspect.signature(init)
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception:  # noqa: BLE001  (an unresolvable annotation: check names only)
        hints = {}
    params_ok = {n: p for n, p in sig.parameters.items() if n != "self"
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    open_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    out = dict(params)
    for k, v in params.items():
        if k not in params_ok:
            if open_kwargs:
                continue
            raise ValueError(f"{k}: unknown parameter of {what}; known: {', '.join(params_ok)}")
        hint = hints.get(k)
        if hint is None:
            continue
        try:
            out[k] = TypeAdapter(hint).validate_python(v)
        except ValidationError as e:
            err = e.errors()[0]
            raise ValueError(f"{k}: {err['msg']} (got {v!r})") from None
    return out
