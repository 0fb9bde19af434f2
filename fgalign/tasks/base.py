"""The ``Task`` protocol and its registry: everything that differs between tasks lives here.

    task = get_task("vcr")                         # a registered Task (built-ins load lazily)
    rows = task.load_rows(cfg, ctx, "val")          # reader → unified rows → statements
    ctx = task.train_context(cfg, train_rows)       # train statistics (answer vocabulary, ...)
    task.calibrate(cfg, ctx, train_rows, runs)      # fits from the scored calibration_runs
    credit = task.credit(row, pred, pred_r)         # per-instance credit (headline, QA→R, Q→AR)

A task is one class, registered by name (``@register_task``), in one module
``fgalign/tasks/<task>.py`` or package ``fgalign/tasks/<task>/`` (VQA); no other module branches on a task's name. The stage graph
(``fgalign.experiment.plan``, ``fgalign.engine.runner``), the scorer (``fgalign.align.stage``), the metrics
(``fgalign.experiment.finalize``) and the adaptation (``fgalign.adapt``) ask the task through the hooks
below. The defaults describe a multiple-choice task whose rows carry ``statements``
(one per candidate), ``cand_group`` (C,) and ``labels`` (gold index per group), and whose
``target`` is the gold index (-1 when unannotated): every hook a task does not override
behaves as for such a task.

Built-in tasks (``vqa``, ``snli_ve``, ``vcr``) register when ``fgalign.tasks`` is imported
(its ``__init__`` imports their modules); a task defined elsewhere registers when its module
is imported. Registering a task also registers its config section (``config_model``, read as
``cfg.tasks.<name>``) into ``fgalign.config.TASK_SECTIONS``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from fgalign.align.columns import groups_of
from fgalign.config import Config, DataCfg, Section, register_task_section, require
from fgalign.data.paths import check_row
from fgalign.data.readers import read_report, usable_or_raise
from fgalign.data.synth.manifest import world_data_cfg
from fgalign.engine.spec import StageSpec
from fgalign.engine.store import file_identity, image_key
from fgalign.registry import Registry
from fgalign.schema import BUILTIN_TASKS, TASK_FIELDS


def question_prefix(question: str) -> str:
    """First two lower-cased words ("is there", "are there", "is the")."""
    return " ".join(question.lower().replace("?", " ").split()[:2])


TASKS = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register one instance of ``cls`` under ``cls.name``.

    Its ``config_model`` becomes the ``tasks.<name>`` config section
    (``fgalign.config.register_task_section``).

    Raises:
        ValueError: the name is empty, is a built-in task's name (outside its module), or
            is taken by another class; or the task does not define ``reader``,
            ``add_statements`` and its row ``fields``.
        TypeError: ``config_model`` is not a pydantic model.
    """
    name = cls.name
    if not name:
        raise ValueError(f"{cls.__qualname__}: set the task's name")
    if name in BUILTIN_TASKS and cls.__module__ != f"fgalign.tasks.{name}":
        raise ValueError(f"task name {name!r} is a built-in task's; choose another name")
    missing = [h for h in ("reader", "add_statements") if getattr(cls, h, None) is
               getattr(Task, h, None)] + ([] if name in TASK_FIELDS or "fields" in vars(cls)
                                          else ["fields"])
    if missing:
        raise ValueError(f"task {name!r} ({cls.__qualname__}) must define "
                         f"{', '.join(missing)} (see fgalign.tasks.base.Task)")
    if not (isinstance(cls.config_model, type) and issubclass(cls.config_model, BaseModel)):
        raise TypeError(f"task {name!r}: config_model must be a pydantic model "
                         f"(a fgalign.config.Section subclass)")
    old = TASKS.get(name) if name in TASKS else None
    if old is not None and _same_class(type(old), cls):
        return cls  # the same module imported under a second name: keep the first
    TASKS.register(name)(cls())
    register_task_section(name, cls.config_model)
    return cls


def _same_class(a: type, b: type) -> bool:
    """One class definition loaded twice: same name, defined in the same file."""
    file = lambda c: c.add_statements.__code__.co_filename
    return a.__qualname__ == b.__qualname__ and file(a) == file(b)


def get_task(name: str, module: str | None = None) -> Task:
    """The registered task ``name``; ``ValueError`` naming the known tasks.

    ``module``: the module that registers it, imported first when the task is not registered
    in this process yet (a Ray worker building a stage of a task defined outside fgalign).
    """
    if module and name not in TASKS:
        importlib.import_module(module)
    try:
        return TASKS.get(name)
    except KeyError as e:
        raise ValueError(e.args[0]) from None


def task_names() -> list[str]:
    """Registered task names: the built-ins in ``BUILTIN_TASKS`` order, then the others."""
    return list(BUILTIN_TASKS) + [t for t in TASKS.list() if t not in BUILTIN_TASKS]


def read_split(task: str, root: str | Path, split: str, data_cfg: DataCfg | None = None
               ) -> tuple[list[dict], dict[str, int]]:
    """``get_task(task).read_split(...)``: rows of one split and the reader's skip counts.

    Raises:
        ValueError: unknown task; and what ``Task.read_split`` raises.
    """
    return get_task(task).read_split(root, split, data_cfg)


def read_task_report(task: str, root: str | Path, split: str,
                     data_cfg: DataCfg | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Read one task split and summarise it (``fgalign data stats``).

    Returns:
        ``(rows, report)``; report keys: ``rows`` (every row, good or bad), ``errors``,
        ``error_reasons`` ({"read:<reason>": count}), ``missing_images`` (good rows whose
        image file does not exist under root) and ``skipped`` ({reason: count}).

    Raises:
        ValueError: unknown task. FileNotFoundError / DataFileError: unreadable file.
    """
    rows, skipped = read_split(task, root, split, data_cfg)
    return rows, read_report(rows, root, skipped)


def read_task(task: str, root: str | Path, split: str, data_cfg: DataCfg | None = None
              ) -> list[dict]:
    """Unified rows (fgalign.schema section 1) of one task split; bad rows carry ``error``."""
    return read_split(task, root, split, data_cfg)[0]


def group_argmax(scores: np.ndarray, groups: np.ndarray, g: int) -> int:
    """Index within group ``g`` of its best candidate (-1 if the group is empty)."""
    idx = np.flatnonzero(np.asarray(groups) == g)
    if len(idx) == 0 or len(scores) != len(groups):
        return -1
    return int(np.argmax(np.asarray(scores)[idx]))


def one_hot(label: int, n: int) -> np.ndarray:
    """(n,) float32 credit: 1 at ``label`` (none when ``label`` is out of range)."""
    out = np.zeros(n, np.float32)
    if 0 <= label < n:
        out[label] = 1.0
    return out


class NoSettings(Section):
    """The config section of a task without settings of its own (``tasks.<name>: {}``)."""


# The Task contract in five small roles; a task overrides the hooks of the roles it needs.


class Reading:
    """Reading a split into unified rows and adding their statements (the task's data)."""

    name: str

    #: ``(root, split, data_cfg) -> rows`` or ``(rows, skipped)``: unified rows
    #: (fgalign.schema section 1) and ``{reason: count}`` of records that are not rows
    reader: Callable[..., Any] = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The task's own row columns (``fgalign.schema.TASK_FIELDS``)."""
        return TASK_FIELDS[self.name]

    def read_split(self, root: str | Path, split: str, data_cfg: DataCfg | None = None
                   ) -> tuple[list[dict], dict[str, int]]:
        """Rows of one split and the records the reader skipped, by reason.

        A root holding a synthetic world's ``world.json`` is read with the world's layout
        (``fgalign.data.synth.manifest.world_data_cfg``).

        Returns:
            ``(rows, skipped)``: unified rows (bad rows carry ``error``) and ``{reason:
            count}`` of records that are not rows (SNLI-VE gold_label "-").

        Raises:
            FileNotFoundError / DataFileError: unreadable file. WorldFormatError: the root
            holds a world of another format version.
        """
        out = self.reader(root, split, world_data_cfg(data_cfg or DataCfg(), root))
        rows, skipped = out if isinstance(out, tuple) else (out, {})
        for row in rows:
            check_row(row, self.fields)
        return rows, skipped

    def image_names(self, row: dict) -> list[str] | None:
        """Object names that are part of the image's identity (VCR's boxes are named)."""
        return None

    def read_rows(self, cfg: Config, split: str, limit: int | None) -> list[dict]:
        """Unified rows of one split (first ``limit`` rows), each with its ``image_key``.

        Raises:
            EmptySplitError: no row is usable; the message names task, split and the
                reader's skip / error counts.
            ConfigError: ``data.root`` is not set.
        """
        root = require(cfg.data.root, "data.root")
        rows, skipped = self.read_split(root, split, cfg.data)
        cut = limit if limit is not None and len(rows) > limit else None
        rows = rows[:cut] if cut is not None else rows
        usable_or_raise(self.name, split, rows, skipped, cut)
        for r in rows:
            rel = r.get("image_path") or ""
            r["image_key"] = image_key(rel, r.get("given_boxes"), self.image_names(r),
                                       file_identity(root, rel) if rel else "")
        return rows

    def load_rows(self, cfg: Config, ctx: dict, split: str | None = None,
                  limit: int | None = -1) -> list[dict]:
        """Rows of ``split`` (default ``data.split`` and ``data.limit``) with statements."""
        rows = self.read_rows(cfg, split or cfg.data.split,
                              cfg.data.limit if limit == -1 else limit)
        return self.add_statements(cfg, ctx, rows)

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        """Add ``statements``, ``cand_group``, ``labels`` (and task extras) to ``rows``."""
        raise NotImplementedError(f"{self.name}: a task defines add_statements (register_task checks)")


class Calibration:
    """Train statistics, the input sets calibration scores, the fits, and applying them."""

    name: str

    #: number of answer choices (size of the train answer-position prior)
    n_choices: int = 4

    def train_context(self, cfg: Config, train: list[dict]) -> dict[str, Any]:
        """Train-split statistics the statements and the ``prior`` variant need."""
        return {"prior": np.bincount([r["target"] for r in train if r["target"] >= 0],
                                     minlength=self.n_choices).tolist()}

    def calibrates(self, cfg: Config) -> bool:
        """Whether ``prepare`` scores calibration input sets (needs a runner)."""
        return False

    def calibration_sets(self, cfg: Config) -> list[tuple[str, list[dict]]]:
        """The image-bearing input sets calibration scores: ``(name, rows)``."""
        return []

    def calibration_runs(self, cfg: Config, ctx: dict, train: list[dict]) -> list[dict]:
        """The input sets ``calibrate`` fits from, as ``fgalign.experiment.plan.RunRequest``
        fields (``split``, ``rows``, ``ctx``, optional ``stop_after``, ``text_only``): the
        experiment scores them (together with a run's other input sets) and hands the
        ``SplitRun`` s to ``calibrate``; a task never runs stages itself."""
        return []

    def calibrate(self, cfg: Config, ctx: dict, train: list[dict], runs: list[Any]) -> None:
        """Fit the calibration into ``ctx`` from ``runs`` (one ``fgalign.engine.runner.
        SplitRun`` per ``calibration_runs`` entry, in order; pure fits of the scored rows)."""

    calibration_embeddings = False  # calibrated_scores reads the rows' embeddings (hydrated)

    def fitted(self, ctx: dict) -> bool:
        """Whether ``ctx`` holds a fitted calibration for ``calibrated_scores`` to apply."""
        return False

    def calibrated_scores(self, rows: list[dict], scored: list[dict], variants: list[str],
                          ctx: dict) -> list[dict]:
        """Apply the fitted calibration to each row's variant scores (``variant_column``);
        called on the score cache's rows after scoring (``fgalign.align.stage.calibrate_rows``),
        never inside the stage, so scores do not depend on the fit."""
        return scored

    def text_only_set(self, cfg: Config, train: list[dict]) -> tuple[str, list[dict]]:
        """The text-only training input set of a classification task: (name, rows)."""
        raise NotImplementedError(f"{self.name} has no text-only protocol")


class Scoring:
    """What the stage graph asks of a task: proposer, row stages, candidate filter, prediction."""

    name: str

    def proposer(self, cfg: Config) -> str:
        """The region proposer of this task."""
        return cfg.regions.proposer

    def row_stages(self, cfg: Config, ctx: dict, tables: dict[str, str]) -> list[StageSpec]:
        """Task-specific row stages run before ``keywords`` (VQA: ``candidates``)."""
        return []

    def prompt_texts(self, cfg: Config, ctx: dict) -> list[str]:
        """Texts the row stages look up in the text table (embedded before them)."""
        return []

    def tag_filter(self, cfg: Config) -> bool:
        """Whether the scorer masks candidates with ``candidate_keep``."""
        return False

    def candidate_keep(self, row: dict) -> np.ndarray | None:
        """(C,) bool: candidates the scorer may pick (None: all)."""
        return None

    def predict(self, row: dict, scores: np.ndarray) -> tuple[int, int]:
        """(prediction, QA→R prediction or -1) from one row's scores: best per group."""
        g = groups_of(row, len(scores))
        return group_argmax(scores, g, 0), group_argmax(scores, g, 1)

    def prior_predict(self, row: dict, ctx: dict) -> tuple[int, int]:
        """The ``prior`` variant: the most frequent train answer position(s)."""
        return int(np.argmax(ctx["prior"])), int(np.argmax(ctx.get("prior_r", [0])))


class Metrics:
    """Credit per instance, prediction records and the metrics of a split."""

    name: str

    #: label names of a classification task (its candidates are classes scored from one
    #: statement, e.g. SNLI-VE), or () for a task whose candidates are statements
    label_classes: tuple[str, ...] = ()

    #: official results file written next to predictions.parquet (VQA), or None
    results_file: str | None = None

    #: the name of the headline score (``variants.<v>.score`` in metrics.json)
    metric: str = "accuracy"

    #: the other scores of a variant: (metrics.json key, name) pairs (report.md shows each)
    metric_parts: tuple[tuple[str, str], ...] = ()

    #: the task's own columns of scored rows that its prediction and metric hooks read
    #: (``credit``, ``record``, ``variant_record``, ``row_stats``, ``official_result``);
    #: finalize reads these besides the common ones (``fgalign.experiment.finalize``)
    prediction_columns: tuple[str, ...] = ()

    def is_labelled(self, row: dict) -> bool:
        """Whether ``row`` carries its gold label."""
        target = row.get("target")
        return target is not None and int(target) >= 0

    def credit(self, row: dict, pred: int, pred_r: int) -> tuple[float, float, float]:
        """Per-instance (headline, QA→R, Q→AR) credit in percent."""
        return 100.0 * (pred >= 0 and pred == int(row["target"])), 0.0, 0.0

    def extra_variants(self, cfg: Config) -> list[str]:
        """Metrics variants beyond ``prior`` and the fusion variants (VQA: ``oracle``)."""
        return []

    def label_name(self, index: int) -> str:
        """The class name of ``index`` in ``label_classes`` (``""`` for none, e.g. -1)."""
        return str(self.label_classes[index]) if 0 <= index < len(self.label_classes) else ""

    def variant_record(self, variant: str, pred: int, pred_r: int) -> dict[str, Any]:
        """Task fields of one variant in a prediction record (VCR: ``pred_r_<variant>``); a
        classification task (``label_classes``) adds ``pred_label_<variant>``, the class name
        of ``pred_<variant>``."""
        return {f"pred_label_{variant}": self.label_name(pred)} if self.label_classes else {}

    def record(self, row: dict, preds: dict[str, tuple[int, int]]) -> dict[str, Any]:
        """Task fields of one prediction record (``preds``: variant → (pred, pred_r)); a
        classification task adds ``target`` (the gold class id, -1 when unlabelled) and
        ``target_label`` (its name, ``""`` when unlabelled)."""
        if not self.label_classes:
            return {}
        target = row.get("target")
        target = int(target) if isinstance(target, (int, np.integer)) else -1
        return {"target": target, "target_label": self.label_name(target)}

    def official_result(self, row: dict, record: dict) -> dict | None:
        """One entry of ``results_file`` for this row, or None."""
        return None

    def row_stats(self, row: dict) -> dict[str, Any]:
        """Per-row values the split metrics aggregate (e.g. VQA's answer type)."""
        return {}

    def variant_metrics(self, credit: np.ndarray, preds: np.ndarray,
                        stats: dict[str, np.ndarray], score: float) -> dict[str, Any]:
        """Task entries of one variant's metrics, over the scored rows.

        Args:
            credit: (M, 3) per-instance credit; preds: (M, 2) predictions.
            stats: ``row_stats`` of the scored rows, one (M,) array per key.
            score: the headline score (mean of ``credit[:, 0]``, rounded).
        """
        return {}

    def split_metrics(self, cfg: Config, ctx: dict, stats: dict[str, np.ndarray]
                      ) -> dict[str, Any]:
        """Task entries of the split's metrics (``stats`` over every row)."""
        return {}


#: how the adaptation reads a task (``Adaptation.adapt_protocol``)
ADAPT_PROTOCOLS = ("candidates", "text_only_classifier")


class Adaptation:
    """The contrastive target and the groupings of the adaptation's results."""

    name: str
    label_classes: tuple[str, ...]

    #: how ``fgalign.adapt`` reads this task: ``"candidates"`` (multiple choice: one
    #: contrastive item per candidate group, ``candidate_credit``) or ``"text_only_classifier"``
    #: (premise pairs as items, label 0 the true and label 2 the false hypothesis, as
    #: SNLI-VE's; as a target, scored by a classifier fitted on text-only train rows,
    #: ``fgalign.adapt.snli_ve``, with this task's config section). None: "candidates"
    #: for a task without ``label_classes``; a classification task must name one.
    adapt_protocol: str | None = None

    def adaptation_protocol(self) -> str:
        """``adapt_protocol`` resolved (class docstring).

        Raises:
            ValueError: a classification task without one, or an unknown protocol.
        """
        p = self.adapt_protocol
        if p is None and not self.label_classes:
            p = "candidates"
        if p not in ADAPT_PROTOCOLS:
            raise ValueError(f"task {self.name!r} sets no adaptation protocol"
                             + (f" it can use ({p!r})" if p else "")
                             + f": set Task.adapt_protocol to one of {', '.join(ADAPT_PROTOCOLS)}")
        return p

    def candidate_credit(self, row: dict, group: int, n: int) -> np.ndarray:
        """(n,) credit of each candidate of ``group`` (the contrastive target)."""
        labels = [int(x) for x in (row.get("labels") if row.get("labels") is not None else [])]
        return one_hot(labels[group] if group < len(labels) else -1, n)

    #: the synthetic world's contrast table of this task (``contrasts_<split>.jsonl``, key
    #: ``fgalign.data.synth.contrast``) and the row field that names an instance in it
    contrast_table: str | None = None

    contrast_id: str = ""

    def contrast_family(self, row: dict, table: dict[str, str]) -> str:
        """The attribute family that separates this instance's true candidate from the false
        ones, from the world's contrast ``table`` ("unknown" when it is not listed)."""
        return table.get(str(row.get(self.contrast_id)), "unknown")

    def question_group(self, text: str) -> str | None:
        """The ``by_question`` group of an instance (its question's first two words)."""
        return question_prefix(text)


class Task(Reading, Calibration, Scoring, Metrics, Adaptation):
    """One task: its name and config section, and the five roles above (``Reading``,
    ``Calibration``, ``Scoring``, ``Metrics``, ``Adaptation``), each a few hooks.

    Subclasses set ``name``, ``reader`` and (for a task that is not built in) ``fields``, the
    row columns of its reader's format (``fgalign.schema.TASK_FIELDS``), and override
    ``add_statements``; the other hooks have multiple-choice defaults (see the module
    docstring). ``register_task`` checks all three.
    """

    name: str = ""
    #: the ``tasks.<name>`` config section (a ``fgalign.config.Section``: unknown keys are
    #: errors), read as ``cfg.tasks.<name>``
    config_model: type[BaseModel] = NoSettings
