"""Load an experiment config: YAML, ``key=value`` overrides, the schema, then the registries.

    cfg = load_config("configs/demo.yaml", overrides=["model.name=ViT-B-32", "data.limit=100"])
    cfg = build_config({"data": {"tasks": ["vqa"]}})   # a mapping instead of a file

Where this sits: the schema (``fgalign.config``) is imported by the tasks, the proposers and
the extractors, so it cannot look them up without an import circle (a function-level or
``importlib`` import is one too). This module is above all of them: it imports the tasks
(which register their config sections into ``fgalign.config.TASK_SECTIONS``) before it
validates, and checks the registry names after (``registry_problems``: backbone and
pretrained tag, proposers, keyword extractor, and the proposer / extractor ``params``), so a
typo is one line naming the key and the known names, before any work.

Raises ``fgalign.config.ConfigError`` (one line per problem, each naming its dotted key).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

import fgalign.tasks  # registers the built-in tasks and their config sections
from fgalign.config import (
    Config,
    ConfigError,
    Section,
    apply_overrides,
    format_problems,
    key_error,
    read_yaml_mapping,
    validate_as,
)
from fgalign.names import (
    BACKBONE_NAMES,
    EXTRACTOR_NAMES,
    PROPOSER_NAMES,
    did_you_mean,
    is_bundle_path,
    unknown_name,
)
from fgalign.numbers import check_kwargs


def _registry(module: str, attr: str) -> Any:
    # by name, when a config needs it: fgalign.regions imports cv2 / torchvision and
    # fgalign.models torch, which a config with built-in names never loads
    return importlib.import_module(module).__dict__[attr]


def proposer_problem(name: str) -> str | None:
    """Why ``name`` is not a proposer, or None."""
    if name in PROPOSER_NAMES:
        return None
    known = _registry("fgalign.regions", "PROPOSERS").list()  # plug-ins, built-ins
    return None if name in known else unknown_name("proposer", name, known)


def extractor_problem(name: str) -> str | None:
    """Why ``name`` is not a keyword extractor, or None."""
    if name in EXTRACTOR_NAMES:
        return None
    known = _registry("fgalign.keywords", "EXTRACTORS").list()  # plug-ins, built-ins
    return None if name in known else unknown_name("keyword extractor", name, known)


def backbone_problems(name: str, pretrained: str | None) -> list[tuple[str, str]]:
    """Problems of a ``model.name`` / ``model.pretrained`` pair (open_clip loads only for a
    name that is not a built-in backbone)."""
    if name in BACKBONE_NAMES:
        return []
    if is_bundle_path(name):
        why = (f"backbone bundle not found: {name} (a .safetensors written by fgalign "
               f"train-backbone, with its .json beside it)")
        return [] if Path(name).exists() else [("model.name", why)]
    import open_clip

    local = _registry("fgalign.models.factory", "BACKBONES").list()
    archs = open_clip.list_models()
    if name in local:
        return []
    if name not in archs:
        why = (f"unknown backbone {name!r}{did_you_mean(name, local + archs)}; known: "
               f"{', '.join(local)}, an open_clip architecture (open_clip.list_models(), e.g. "
               f"ViT-B-32), or a path to a bundle .safetensors written by fgalign train-backbone")
        return [("model.name", why)]
    if pretrained is None or Path(pretrained).is_file():
        return []
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained in tags:
        return []
    why = unknown_name(f"pretrained tag for {name}", pretrained, tags)
    return [("model.pretrained", f"{why} (open_clip.list_pretrained())")]


def _params_problems(section: str, kind: str, registry: Any, name: str, params: dict[str, Any]
                     ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``params`` checked against the constructor of ``name`` (``check_kwargs``): the
    converted values (``"1e1"`` → 10.0) and the problem, at ``<section>.params.<key>``."""
    try:
        return check_kwargs(registry.get(name), params, f"{kind} {name!r}"), []
    except ValueError as e:
        key, _, why = str(e).partition(": ")
        return params, [(f"{section}.params.{key}", why)]


def registry_problems(cfg: Config) -> list[tuple[str, str]]:
    """Every registry name of a validated ``Config`` that names nothing, and every proposer /
    extractor ``params`` key its constructor does not take (or of a wrong type or out of its
    bounds), as ``(dotted key, why)``. Params that pass are kept converted, in ``cfg``."""
    problems = backbone_problems(cfg.model.name, cfg.model.pretrained)
    proposers = [("regions.proposer", cfg.regions.proposer)] + [
        (f"tasks.{t}.proposer", getattr(cfg.tasks.section(t), "proposer", None))
        for t in fgalign.tasks.task_names()]  # a task section's own proposer (VCR: dataset)
    for key, name in proposers:
        why = proposer_problem(name) if isinstance(name, str) else None
        if why:
            problems.append((key, why))
    extractor_bad = extractor_problem(cfg.keywords.extractor)
    if extractor_bad:
        problems.append(("keywords.extractor", extractor_bad))
    regions, keywords = cfg.regions, cfg.keywords
    if regions.params and not any(k == "regions.proposer" for k, _ in problems):
        regions.__dict__["params"], more = _params_problems(
            "regions", "proposer", _registry("fgalign.regions", "PROPOSERS"), regions.proposer,
            regions.params)
        problems += more
    if keywords.params and not extractor_bad:
        if "max_keywords" in keywords.params:
            problems.append(("keywords.params.max_keywords", "set keywords.max_keywords instead"))
        else:
            keywords.__dict__["params"], more = _params_problems(
                "keywords", "keyword extractor", _registry("fgalign.keywords", "EXTRACTORS"),
                keywords.extractor, keywords.params)
            problems += more
    return problems


def build_config(raw: dict[str, Any] | None, source: str = "<dict>",
                 overrides: list[str] | None = None, origin: str = "--set") -> Config:
    """Validate a raw mapping into a ``Config`` (``ConfigError`` lists every problem).

    After the types, the registry names are checked (``registry_problems``). ``overrides``:
    the ``key=value`` strings applied to ``raw``, named in errors as coming from ``origin``
    (the command line's ``--set``, or a spec file).
    """
    cfg = validate_as(Config, raw or {}, source, overrides=overrides, origin=origin)
    problems = registry_problems(cfg)
    if problems:
        raise ConfigError(format_problems(problems, source, overrides=overrides, origin=origin))
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                origin: str = "--set") -> Config:
    """Load YAML at ``path`` (or defaults when None), apply overrides, validate (errors name
    an override as coming from ``origin``)."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        raw = read_yaml_mapping(path)
    raw = apply_overrides(raw, overrides or [])
    return build_config(raw, source, overrides, origin)


class SpecFile(Section):
    """Base of the sweep and ablation spec files: a base experiment config plus overrides.

    ``RESOURCES``: the keys ``resources`` accepts (``RESOURCE_KIND`` names them in errors).
    """

    RESOURCES: ClassVar[tuple[str, ...]] = ()
    RESOURCE_KIND: ClassVar[str] = "resource"

    base: str  # experiment config path, relative to the spec file
    overrides: list[str] = Field(default_factory=list)  # key=value overrides of the base config
    path: str | None = Field(default=None, exclude=True)  # set by the loader: the spec file

    @field_validator("resources", check_fields=False)
    @classmethod
    def _known_resources(cls, resources: dict[str, float]) -> dict[str, float]:
        for key in resources:
            if key not in cls.RESOURCES:
                raise key_error(key, f"unknown {cls.RESOURCE_KIND}; known: "
                                f"{', '.join(cls.RESOURCES)}")
        return resources

    def experiment_config(self, extra: list[str] | None = None) -> Config:
        """The base experiment config (relative to the spec file) with the overrides and
        ``extra`` overrides applied."""
        base = Path(self.base)
        if not base.is_absolute() and self.path:
            base = Path(self.path).parent / base
        return load_config(base, self.overrides + list(extra or []),
                           origin=f"the overrides of {self.path or 'the spec'}:")
