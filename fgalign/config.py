"""The experiment config's schema: pydantic sections, ``key=value`` overrides, hash.

Every section rejects unknown keys (reported with their dotted path); wrong types name the
key and the expected type. ``config_hash`` is a stable hash of the resolved content, used to
name run folders and stage caches. Each task owns its ``tasks.<name>`` section (its
``Task.config_model``, registered into ``TASK_SECTIONS``). Configs are loaded, and their
registry names checked, by ``fgalign.load``:

    cfg = load_config("configs/demo.yaml", overrides=["model.name=ViT-B-32", "data.limit=100"])
    cfg.data.root, cfg.tasks.vqa.k, config_hash(cfg)
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fgalign.errors import InputError
from fgalign.names import unknown_name
from fgalign.numbers import Count, Finite, NonNegative, Positive, Seed, Share, Size
from fgalign.schema import BUILTIN_TASKS, ROW_STAGES, STAGE_NAMES
from fgalign.variants import FINE, align_problems


def _one_of(kind: str, known: tuple[str, ...] | Callable[[], list[str]],
            fast: tuple[str, ...] = ()):
    """A validator accepting only the names of a registry (``kind`` names it in the error,
    with the close names); ``known`` may be a function returning the names registered when
    the config loads, only called for a name outside ``fast`` (names known without it)."""

    def check(name: str) -> str:
        if name in fast:
            return name
        names = known() if callable(known) else known
        if name not in names:
            raise PydanticCustomError("unknown_name", "{why}",
                                      {"why": unknown_name(kind, name, names)})
        return name

    return AfterValidator(check)


def key_error(path: str, detail: str) -> PydanticCustomError:
    """An error at ``<section path>.<path>`` (a key inside a dict-valued field)."""
    return PydanticCustomError("config_key", "{path}: {detail}", {"path": path, "detail": detail})


# Task name → its config section model, filled by ``fgalign.tasks.register_task`` (each task
# owns its ``tasks.<name>`` section). Why a table here and not a lookup of the task registry:
# the tasks import this module (``Config``), so this module must not import them, not even in
# a function or by ``importlib`` (that is an import circle too). The tasks write into the
# table when they are imported; ``fgalign.load`` (above both) imports the built-in tasks
# before it validates, and ``data.task_modules`` imports a plug-in's module before ``tasks``
# and ``data.tasks`` are checked.
TASK_SECTIONS: dict[str, type[BaseModel]] = {}


def register_task_section(name: str, model: type[BaseModel]) -> None:
    """Register ``model`` as the ``tasks.<name>`` section (``fgalign.tasks.register_task``)."""
    TASK_SECTIONS[name] = model


def registered_task_names() -> list[str]:
    """The task names a config accepts: the built-ins in ``BUILTIN_TASKS`` order, then the
    tasks registered so far (``fgalign.tasks.task_names`` once the tasks are imported)."""
    return list(BUILTIN_TASKS) + [t for t in TASK_SECTIONS if t not in BUILTIN_TASKS]


TaskName = Annotated[str, _one_of("task", registered_task_names, BUILTIN_TASKS)]  # a registered task (fgalign.tasks)
StageName = Annotated[str, _one_of("stage", STAGE_NAMES)]  # a stage of the graph
ComponentName = Annotated[str, _one_of("fine component", FINE)]  # fgalign.variants.FINE


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ExperimentCfg(Section):
    name: str = "demo"  # run folder: runs/<name>/<config hash>/
    seed: Seed = 0  # global seed (numpy, torch, python)
    output_dir: str = "runs"  # parent of run folders (local path or shared mount)


class SynthCfg(Section):
    """How to make the synthetic world when ``data.root`` is missing and ``generate`` is on.

    These values only matter when generating: a root that holds a world (``world.json``) is
    read as it is, and the resolved config carries the world's own seed / images / image_size
    (``fgalign.data.synth.world.resolve_world``).
    """

    generate: bool = False  # generate the world at data.root on first use
    seed: Seed = 0  # world seed (same seed → byte-identical files)
    images: Size = 600  # number of scenes over train/val/test
    image_size: Size = 128  # square image side in pixels


class DataCfg(Section):
    root: str | None = None  # dataset root; required (a clear error names this key)
    # modules that register tasks of their own (fgalign.tasks.register_task), imported when
    # the config loads, before ``tasks`` is checked; e.g. [my_lab.gqa_task]
    task_modules: list[str] = Field(default_factory=list)
    tasks: list[TaskName] = Field(default_factory=lambda: list(BUILTIN_TASKS),
                                  min_length=1)  # tasks to run, each once
    split: str = "test"  # evaluation split
    train_split: str = "train"  # split used for fitting (SNLI-VE text-only, adaptation)
    val_split: str = "val"  # split used to choose defaults / hyperparameters
    limit: Size | None = None  # keep only the first N rows per task (None: all)
    vqa_images_dir: str = "{split}"  # VQA images dir relative to root ({split} is filled in)
    vqa_image_template: str = "COCO_{split}_{image_id:012d}.jpg"  # VQA image file name
    snli_ve_images_dir: str = "flickr30k_images"  # SNLI-VE images dir relative to root
    vcr_images_dir: str = "vcr1images"  # VCR images + metadata dir relative to root
    synth: SynthCfg = Field(default_factory=SynthCfg)  # embedded synthetic world
    world: dict[str, Any] | None = None  # identity of the world at root (format_version, seed,
    # images, image_size, fingerprint): filled from its world.json, never from the config file

    @field_validator("task_modules")
    @classmethod
    def _import_task_modules(cls, modules: list[str]) -> list[str]:
        for m in modules:
            try:
                importlib.import_module(m)
            except ImportError as e:
                raise key_error(m, f"cannot import task module: {e}") from None
        return modules

    @field_validator("tasks")
    @classmethod
    def _each_task_once(cls, tasks: list[str]) -> list[str]:
        twice = sorted({t for t in tasks if tasks.count(t) > 1})
        if twice:
            raise PydanticCustomError("repeated", "listed more than once: {t}",
                                      {"t": ", ".join(twice)})
        return tasks


class ModelCfg(Section):
    name: str = "shapes-tiny"  # registry name or open_clip architecture (e.g. ViT-B-32)
    pretrained: str | None = None  # open_clip pretrained tag (e.g. openai) or None
    checkpoint: str | None = None  # local .safetensors / .pt checkpoint path
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"  # autocast dtype on GPU (CPU: fp32)
    batch_size: Size = 64  # images / texts per forward pass
    num_threads: Size | None = None  # torch threads on CPU (None: leave as is)


class RegionsCfg(Section):
    proposer: str = "segment"  # registry name: segment | selective_search | torchvision | detectron2 | dataset
    params: dict[str, Any] = Field(default_factory=dict)  # proposer-specific keyword args
    max_regions: Size = 8  # regions kept per image (by score)
    min_score: Finite = 0.0  # drop proposals scoring below this
    context_pad: NonNegative = 0.1  # crop padding, as a fraction of box side
    tag_vocab: str | list[str] = "shapes"  # tag vocabulary name (shapes | coco) or explicit list


class KeywordsCfg(Section):
    extractor: str = "spacy"  # registry name: spacy | rule
    max_keywords: Size = 8  # keywords kept per text
    params: dict[str, Any] = Field(default_factory=dict)  # extractor-specific keyword args
    # (spacy: model, batch_size), checked against the extractor's constructor


class TasksCfg(Section):
    """``tasks.<name>``: one section per registered task, of the model the task registers
    (``Task.config_model``, ``TASK_SECTIONS``), read as ``cfg.tasks.<name>``.

    Every built-in task has its section (defaults when the file has none); another task has
    one when the file gives it or ``data.tasks`` lists the task, so the resolved config (and
    its hash) depends on the config alone, not on the modules a process imported.

    Raises (as validation errors): ``tasks.<name>`` of a task that is not registered (naming
    the known tasks), and the section model's own errors at ``tasks.<name>.<key>``.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _sections(cls, raw: Any, handler: Callable[[Any], TasksCfg]) -> TasksCfg:
        if isinstance(raw, TasksCfg):
            return raw
        if not isinstance(raw, dict):
            return handler(raw)  # pydantic's own "not a mapping" error
        missing = [t for t in BUILTIN_TASKS if t not in TASK_SECTIONS]
        if missing:
            raise PydanticCustomError(
                "config_key", "{path}: {detail}",
                {"path": missing[0], "detail": "the built-in tasks are not imported: load "
                 "configs with fgalign.load (or import fgalign.tasks first)"})
        names = list(BUILTIN_TASKS) + [t for t in raw if t not in BUILTIN_TASKS]
        out, errors = {}, []
        for name in names:
            model = TASK_SECTIONS.get(name)
            if model is None:
                errors.append({"type": PydanticCustomError("unknown_name", "{why}", {
                    "why": unknown_name("task", name, registered_task_names())}),
                    "loc": (name,), "input": raw[name]})
                continue
            try:
                value = raw.get(name, {})
                out[name] = value if isinstance(value, model) else model.model_validate(value)
            except ValidationError as err:
                errors += [_relocated(e, name) for e in err.errors()]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler(out)

    def add_sections(self, names: list[str]) -> None:
        """Add the default section of each registered task of ``names`` not present yet
        (``data.tasks``: a listed task's section is part of the resolved config)."""
        for name in names:
            if name in TASK_SECTIONS and name not in (self.__pydantic_extra__ or {}):
                self.__pydantic_extra__[name] = TASK_SECTIONS[name]()

    def section(self, name: str) -> BaseModel | None:
        """The ``tasks.<name>`` section, or None (a task without a section in this config)."""
        return (self.__pydantic_extra__ or {}).get(name)


def _relocated(e: dict[str, Any], name: str) -> dict[str, Any]:
    """One pydantic error of a task section, as an error at ``<name>.<its location>``."""
    kind = PydanticCustomError(e["type"], "{__msg}", {**(e.get("ctx") or {}), "__msg": e["msg"]})
    return {"type": kind, "loc": (name, *e["loc"]), "input": e.get("input")}


DEFAULT_WEIGHTS = {"region_word": 2.0, "region_sentence": 1.0, "tag_text": 0.5,
                   "count": 0.3, "size": 0.3, "relation": 0.3}  # fusion λ; count / size /
# relation chosen on val of the dev world (seed 7, 300 scenes) among 0.1 / 0.3 (docs/results.md)


@dataclasses.dataclass(frozen=True)
class ComposeParams:
    """Scales and thresholds of the compositional evidence (``fgalign.align.compose``)."""

    relation_scale: float = 0.05  # normalised centre offset that gives δ = tanh(1)
    near_distance: float = 0.3  # centre distance (normalised) below which "near" holds
    size_area: float = 0.045  # area share (of W·H) between "small" and "large"
    size_scale: float = 0.5  # log-area ratio that gives δ = tanh(1)
    count_tolerance: float = 1.0  # |n − k| at which an equality claim gives δ = −1
    iou_merge: float = 0.5  # boxes overlapping more than this count once

    def __post_init__(self):
        for name in ("relation_scale", "near_distance", "size_area", "size_scale",
                     "count_tolerance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"compose parameter {name} must be > 0, got {getattr(self, name)}")



class AlignCfg(Section):
    tau: Positive = 0.1  # attention temperature over regions (defaults chosen on val of a dev world)
    keyword_weighting: Literal["mean", "idf", "length", "idf_length"] = "length"  # keyword
    # weights: uniform, within-instance IDF, words per keyword (phrases bind), or IDF × words
    components: list[str] = Field(  # fine-grained components computed (fgalign.variants.FINE)
        default_factory=lambda: list(FINE)
    )
    ref_scope: Literal["keyword", "statement"] = "statement"  # VCR refs: restrict only referring
    # keywords to their regions, or every keyword of a statement to the regions it refers to
    weights: dict[ComponentName, Finite] = Field(  # fusion λ per fine component (0/missing = off)
        default_factory=lambda: dict(DEFAULT_WEIGHTS)
    )
    claim_parser: Literal["spacy", "rule"] = "spacy"  # count / size / relation claims of a
    # statement (fgalign.align.claims): spaCy's dependency parse with the rule fallback, or rules
    compose: dict[str, Finite] = Field(default_factory=dict)  # scales of the compositional
    # evidence (fgalign.align.compose.ComposeParams; missing keys keep its defaults)

    @field_validator("compose")
    @classmethod
    def _compose_params(cls, v: dict[str, float]) -> dict[str, float]:
        try:
            ComposeParams(**v)
        except TypeError as e:
            raise ValueError(f"unknown compose parameter ({e}); known: "
                             + ", ".join(f.name for f in dataclasses.fields(ComposeParams))) from e
        return v

    @model_validator(mode="after")
    def _consistent(self) -> AlignCfg:
        """``components`` and ``weights`` agree (``fgalign.variants.align_problems``)."""
        for path, why in align_problems(self.components, self.weights):
            raise key_error(path, why)
        return self


class AdaptCfg(Section):
    lr: Positive = 1e-3  # AdamW learning rate
    weight_decay: NonNegative = 1e-4  # AdamW weight decay
    epochs: Size = 10  # max passes over the source tasks (best epoch on source val is kept)
    patience: Size = 3  # stop after this many epochs without a source-val improvement
    batch_size: Size = 64  # instances per step (one source task per step)
    rank: Count = 16  # residual adapter bottleneck width (0: no adapter, fusion + τ only)
    sides: Literal["both", "image", "text"] = "both"  # which embeddings get a residual adapter
    temperature_init: Positive | None = None  # initial attention τ (None: align.tau)
    fusion_init: Finite | None = None  # initial λ of every fine component (None: align.weights)
    logit_scale_init: Positive = 20.0  # initial scale of scores into contrastive logits
    in_batch_weight: NonNegative = 0.5  # weight of the in-batch image-statement InfoNCE term
    anchor_weight: NonNegative = 10.0  # weight of 1 − cos(adapted, frozen) over all embeddings (chosen
    # on the dev world, seed 7: Δ VQA / SNLI-VE / VCR −11.8 / −5.5 / +0.3 at 0 → −4.1 / −0.8 / +3.3)
    task_weights: dict[TaskName, NonNegative] = Field(default_factory=dict)  # sampling weight per source (1)
    box_features: bool = False  # add each region's normalised box (cx, cy, w, h, area) to its
    # embedding through a zero-init MLP (fgalign.adapt.module.BoxAdapter): size and position,
    # which resized crops lose; choose it by source val like any other hyperparameter
    compose: bool = True  # fuse count / size / relation (fgalign.align.compose) as the zero-shot
    # fusion does, their λ learned (false: the adapted fusion of before issue 20, without them)
    fusion_anchor_weight: NonNegative = 1.0  # weight of Σ (λ − λ_zero-shot)² (a priori, not tuned)
    compose_delta_only: bool = False  # learned λ of count / size / relation weighs their evidence δ
    # alone; their global copy (no evidence) keeps the zero-shot λ (fgalign.adapt.module)
    pairwise: bool = False  # learned pairwise region term over (keyword pair, their regions' relative
    # boxes) added to the score (fgalign.adapt.module.PairwiseRegionTerm), zero at init; choose it
    # by source val like box_features
    pairwise_hidden: Size = 32  # width of the pairwise term's MLP
    bootstrap: Size = 1000  # paired bootstrap resamples for CIs
    num_threads: Size | None = 1  # torch threads while adapting (small ops: 1 is fastest on CPU)


class StageResources(Section):
    num_cpus: NonNegative = 0.25  # CPUs per actor (logical: the pools of an execution run at
    # once, so their sum must fit the cluster; torch threads come from model.num_threads)
    num_gpus: NonNegative = 0.0  # GPUs per actor (fractional allowed)
    concurrency: Size = 1  # actors in the pool (fixed size; with rows_per_actor: at most)
    batch_size: Size = 32  # rows per batch
    rows_per_actor: Size | None = None  # one actor per this many input rows of the execution,
    # at most `concurrency` (None: always `concurrency`): a pool starts a second actor only
    # for work that outlasts the actor's start-up (fgalign.ray.runtime.pool_actors)


class RowFailureCfg(Section):
    """When rows that raise inside a stage mean the stage is broken (``fgalign.engine.rowguard``).

    A row that raises becomes an error row; the stage itself fails only when more than
    ``max_share`` of at least ``min_rows`` rows raised (counted per in-process run / per actor).
    """

    max_share: Share = 0.5  # share of raising rows that fails the stage
    min_rows: Size = 20  # rows seen before the share is judged (fewer: never fails)


# The default row pool: up to two actors, the second only from 4000 input rows on. A row
# actor's start-up (torch, open_clip, spaCy: ~7 s of CPU on the 2-core machine) costs about
# what one actor spends on 1600 rows, so on two cores a second actor pays off from about
# twice that; below it, it only competes with the first for the cores (BENCHMARKS.md,
# "A second row actor for long executions").
ROW_POOL = {"concurrency": 2, "rows_per_actor": 4000}


class RayCfg(Section):
    address: str | None = None  # None: local embedded cluster; "auto": existing cluster
    num_cpus: Size | None = None  # local cluster CPUs (None: all)
    object_store_memory: Size | None = None  # local object store bytes (None: Ray default)
    stages: dict[StageName, StageResources] = Field(  # per-stage actor resources
        default_factory=lambda: {
            s: StageResources(batch_size=128 if s == "embed" else 32,
                              **(ROW_POOL if s in ROW_STAGES else {}))
            # embed: 128 rows per batch amortise Ray Data's per-batch cost (steady-state rate
            # 0.75 → 1.02 of a bare loop at 32 → 128, BENCHMARKS.md) and dedup more images
            for s in STAGE_NAMES
        }
    )  # (a whole `stages` table, in a file or override, replaces this one; a stage it does
    # not list gets StageResources(); a dotted override changes one field of this table)
    row_failures: RowFailureCfg = Field(default_factory=RowFailureCfg)  # broken-stage limit,
    # used by both execution paths (in-process evaluate and the Ray actors)
    max_restarts: Count = 2  # actor restarts after a crash (and retries of its batches)
    progress: bool = True  # Ray Data progress bars (only on a terminal; off when CI is set)
    cache_dir: str | None = None  # stage caches (None: <output_dir>/<experiment>/stages); URI ok
    max_input_blocks: Size = 200  # the input rows are split into at most this many blocks
    rows_per_file: Size = 4096  # minimum rows per Parquet file in a stage cache


class LoggingCfg(Section):
    wandb: bool = True  # log to W&B (offline unless WANDB_API_KEY is set)
    project: str = "fgalign"  # W&B project
    entity: str | None = None  # W&B entity
    sample_predictions: Count = 50  # rows in the W&B predictions table
    figures: Count = 4  # alignment examples per task


class Config(Section):
    experiment: ExperimentCfg = Field(default_factory=ExperimentCfg)
    data: DataCfg = Field(default_factory=DataCfg)
    model: ModelCfg = Field(default_factory=ModelCfg)
    regions: RegionsCfg = Field(default_factory=RegionsCfg)
    keywords: KeywordsCfg = Field(default_factory=KeywordsCfg)
    tasks: TasksCfg = Field(default_factory=TasksCfg)
    align: AlignCfg = Field(default_factory=AlignCfg)
    adapt: AdaptCfg = Field(default_factory=AdaptCfg)
    ray: RayCfg = Field(default_factory=RayCfg)
    logging: LoggingCfg = Field(default_factory=LoggingCfg)

    @model_validator(mode="after")
    def _listed_tasks_have_sections(self) -> Config:
        self.tasks.add_sections(self.data.tasks)
        return self


class ConfigError(InputError):
    """A config file or override is invalid; the message names every bad key."""


def _section_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The model of the section at ``loc`` inside ``model`` (None: not a section)."""
    for part in loc:
        if model is TasksCfg:  # a task's section: the model its task registered
            model = TASK_SECTIONS.get(part, BaseModel)
            continue
        field = model.model_fields.get(part)
        ann = field.annotation if field is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def _section_keys(model: type[BaseModel], loc: list[str]) -> list[str] | None:
    """The keys of the section at ``loc`` inside ``model`` (None: not a section)."""
    section = _section_at(model, loc)
    return None if section is None else list(section.model_fields)


def _problems(err: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    """``(dotted key, why)`` per problem of a ``ValidationError``.

    Unknown keys of sections and of dict-valued fields (``ray.stages.embedd``,
    ``align.weights.<c>``, ``adapt.task_weights.<t>``) read ``unknown ...``, with the close
    names of a section's keys.
    """
    out = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        if e["type"] == "config_key":  # a key inside a dict field: the path is in the context
            out.append((".".join(loc + [e["ctx"]["path"]]), e["ctx"]["detail"]))
            continue
        is_key = bool(loc) and loc[-1] == "[key]"  # pydantic's marker for a dict key
        path = ".".join(loc[:-1] if is_key else loc)
        if e["type"] == "extra_forbidden":
            keys = _section_keys(model, loc[:-1]) or []
            close = difflib.get_close_matches(loc[-1], keys, n=1, cutoff=0.6)
            hint = f"; did you mean {'.'.join(loc[:-1] + close)}?" if close else ""
            out.append((path, f"unknown key{hint}"))
        elif e["type"] == "unknown_name":
            out.append((path, e["msg"]))
        else:
            out.append((path, f"{e['msg']} (got {e.get('input')!r})"))
    return out


def _override_of(path: str, overrides: list[str]) -> str | None:
    """The last ``--set`` override that set ``path`` (or a section above or below it)."""
    for ov in reversed(overrides):
        key = ov.split("=", 1)[0].strip()
        if path == key or path.startswith(key + ".") or key.startswith(path + "."):
            return ov
    return None


def format_problems(problems: list[tuple[str, str]], source: str, kind: str = "config",
                    overrides: list[str] | None = None, origin: str = "--set") -> str:
    """One line per problem, each naming its dotted key: ``invalid <kind> <source>:`` + lines.

    A problem an override caused names that override (``(from <origin> key=value)``), not the
    file; when every problem comes from ``--set`` overrides the header reads
    ``invalid --set override``. ``origin``: where the overrides were written.
    """
    lines, from_file = [], origin != "--set"
    for path, why in problems:
        ov = _override_of(path, overrides or [])
        from_file = from_file or ov is None
        lines.append(f"  {path}: {why}" + (f" (from {origin} {ov})" if ov else ""))
    if from_file:
        header = f"invalid {kind} {source}:"
    else:
        header = "invalid --set override" + ("s" if len(lines) > 1 else "") + ":"
    return "\n".join([header] + lines)


def _format_errors(err: ValidationError, source: str, kind: str = "config",
                   model: type[BaseModel] = BaseModel, overrides: list[str] | None = None,
                   origin: str = "--set") -> str:
    """``format_problems`` of a ``ValidationError`` raised validating ``model``."""
    return format_problems(_problems(err, model), source, kind, overrides, origin)


def validate_as(model: type[BaseModel], raw: Any, source: str, kind: str = "config",
                overrides: list[str] | None = None, origin: str = "--set") -> Any:
    """``model.model_validate(raw)``, a ``ValidationError`` turned into ``ConfigError``
    (problems caused by ``overrides`` name the override, written in ``origin``)."""
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source, kind, model, overrides, origin)) from None


def read_yaml_mapping(path: str | Path, kind: str = "config") -> dict[str, Any]:
    """The top-level mapping of a YAML file; ``ConfigError`` when missing, invalid or not a map."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{kind} file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{kind} {path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{kind} {path} must be a mapping at top level")
    return raw


def _default_table(loc: list[str]) -> dict[str, Any] | None:
    """The default of the table (dict-valued field) at ``loc`` in ``Config``, as JSON data;
    None when ``loc`` is a section, a scalar or not a field."""
    section = _section_at(Config, loc[:-1])
    field = section.model_fields.get(loc[-1]) if section is not None else None
    if field is None or typing.get_origin(field.annotation) is not dict:
        return None
    default = field.get_default(call_default_factory=True)
    return TypeAdapter(field.annotation).dump_python(default, mode="json") if default else None


def _set_dotted(d: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``value`` at ``dotted`` in the raw config ``d``. A table the config does not give
    yet (``ray.stages``, ``align.weights``) starts as its default, so that
    ``ray.stages.embed.batch_size=64`` changes one field of one stage, not the whole table
    (a table given in full, in the file or as ``ray.stages={...}``, replaces the default)."""
    keys = dotted.split(".")
    for i, k in enumerate(keys[:-1]):
        if k not in d:
            d[k] = _default_table(keys[: i + 1]) or {}
        nxt = d[k]
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {dotted!r}: {k!r} is not a section")
        d = nxt
    d[keys[-1]] = value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides; values are parsed as YAML (``8``, ``null``, ``[a, b]``)."""
    raw = json.loads(json.dumps(raw))  # deep copy
    for ov in overrides or []:
        if "=" not in ov:
            raise ConfigError(f"override {ov!r} is not of the form key.path=value")
        key, val = ov.split("=", 1)
        _set_dotted(raw, key.strip(), yaml.safe_load(val))
    return raw


def to_dict(cfg: BaseModel) -> dict[str, Any]:
    """Resolved config (or section) as plain JSON-able data."""
    return cfg.model_dump(mode="json")


def config_hash(cfg: BaseModel | dict[str, Any], n: int = 12) -> str:
    """Stable short hash of resolved content (sorted-key JSON, sha256)."""
    data = to_dict(cfg) if isinstance(cfg, BaseModel) else cfg
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def dump_yaml(cfg: Config) -> str:
    """Resolved config as YAML text (written to each run folder)."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def require(value: Any, key: str) -> Any:
    """Return ``value`` or raise ``ConfigError`` naming the dotted ``key`` that must be set."""
    if value is None or value == "":
        raise ConfigError(f"{key} must be set (it is empty in the config)")
    return value


@dataclasses.dataclass
class TrainBackboneCfg:
    """Everything that determines a trained backbone (stored in its JSON as provenance)."""

    data: str  # world root with captions_{split}.jsonl (+ scenes_{split}.json)
    out: str = "fgalign/assets"  # output folder of <name>.safetensors / .json / _loss.png
    name: str = "shapes-tiny"  # bundle name
    split: str = "train"  # corpus split to train on
    seed: int = 0  # torch / numpy seed of init, sampling and augmentation
    steps: int = 1600  # optimiser steps
    scenes_per_batch: int = 48  # whole images (scene captions) per batch
    crops_per_batch: int = 40  # object crops per batch (distinct (colour, shape) keys)
    lr: float = 1e-3  # peak AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay (matrices only)
    warmup: int = 100  # linear warmup steps
    shift: int = 4  # max random shift in pixels (augmentation)
    crop_variants: int = 2  # pre-rendered crops per object (random context pads)
    image_size: int = 64  # model input side
    patch_size: int = 8  # ViT patch side
    vision_width: int = 128  # ViT width
    vision_layers: int = 3  # ViT blocks
    text_width: int = 96  # text transformer width
    text_layers: int = 2  # text transformer blocks
    embed_dim: int = 128  # joint embedding width
    # torch CPU threads; 1 because on a shared 2-core machine 2 threads cost ~3x the CPU time
    # per step (measured: spin-waiting threads), for little wall-clock gain
    threads: int = 1
    limit_images: int | None = None  # train on the first N images only (smoke tests)
    log_every: int = 50  # steps between logged losses
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # provenance (command, world recipe)
