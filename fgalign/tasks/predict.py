"""``fgalign.predict``: one image and one question / hypothesis / multiple choice, in this process.

    from fgalign import predict
    p = predict("coffee.png", question="What is in the cup?", answers=["coffee", "tea"])
    p.prediction, p.candidates[0].scores["fusion"], p.to_dict()     # JSON-ready dict
    predict("cat.jpg", hypothesis="A cat sleeps.")                   # SNLI-VE
    predict("scene.jpg", question="Why is he smiling?", choices=["A", "B", "C", "D"])  # VCR

The task follows from the arguments: ``hypothesis`` → ``snli_ve``; ``question`` with
``choices`` → ``vcr`` (Q→A); ``question`` alone → ``vqa``. The image goes through the config's
own stages (``fgalign.engine.runner.Runner`` with the in-process executor: region proposer, image
embedder, the task's row stages, keyword extractor, text embedder, alignment scorer), with its
stage caches in a temporary folder of the call; the model is built once per process (every
stage shares it: ``fgalign.embed.backbone_of`` memoises backbones per process and config).

What comes from the dataset of the config (``data.root``), and when:

- VQA without ``answers``: the candidates are the config's answer vocabulary, cut to the top
  ``tasks.vqa.k`` by retrieval, as in a run; the vocabulary is read from the train split (a
  synthetic world is generated first when ``data.synth.generate`` is on). With ``answers``,
  those are the candidates (no vocabulary, no filters).
- Calibration (VQA yes/no thresholds, the SNLI-VE text-only classifier) is a fit on the dataset
  (``fgalign.tasks.snli_ve``). When ``fgalign evaluate`` / ``fgalign run`` of the same config
  left its fitted context in the stage cache (``fgalign.experiment.prepare``), it is used. Otherwise
  ``calibrate=True`` fits it now (as a run would, then cached); without it VQA scores its
  candidates uncalibrated, and SNLI-VE has **no label**: the prediction is None and the raw
  scores of the hypothesis are reported, with a note saying so (a label from an unfitted rule
  would be invented).
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fgalign.align.batch import to_array
from fgalign.align.stage import calibrate_rows
from fgalign.config import Config, to_dict
from fgalign.data.paths import RowError, base_row, clean_text
from fgalign.data.synth import resolve_world
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.engine.runner import LocalExecutor, cache_root
from fgalign.engine.store import file_identity, image_key
from fgalign.errors import InputError
from fgalign.experiment.figures import keyword_regions, overlay_figure
from fgalign.experiment.plan import make_runner, prepare_task
from fgalign.experiment.prepare import cached_context, prepare_cached
from fgalign.load import build_config, load_config
from fgalign.metrics import normalize_answer
from fgalign.regions.crops import ImageLoadError, load_rgb
from fgalign.schema import SNLI_VE_LABELS
from fgalign.tasks import get_task
from fgalign.tasks.vqa.answers import answer_type_of
from fgalign.variants import score_column, variant_column, variant_names

DEFAULT_CONFIG = "configs/demo.yaml"


@dataclass
class Candidate:
    """One candidate: its text (answer, choice or label), the statement scored, its scores."""

    text: str
    statement: str
    scores: dict[str, float | None]  # component scores and fused ones ("fusion"); None: -inf


@dataclass
class Prediction:
    """What ``predict`` returns (``to_dict()``: the JSON of ``fgalign predict --json``)."""

    task: str  # vqa | snli_ve | vcr
    image: str
    text: str  # the question or hypothesis
    prediction: str | None  # the best candidate's text (None: SNLI-VE without a fit)
    candidates: list[Candidate]
    alignment: list[dict[str, Any]] = field(default_factory=list)  # best candidate's
    # keywords: {"keyword", "region", "alpha", "box" [x1, y1, x2, y2]}
    note: str = ""
    figure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def clean_input(text: Any, what: str) -> str:
    """``text`` as the dataset readers read theirs (``fgalign.data.paths.clean_text``: NFC,
    zero-width characters removed) and stripped.

    Raises:
        InputError: it holds a code point UTF-8 cannot encode (a lone surrogate, e.g. half an
            emoji), named with ``what``.
    """
    try:
        return clean_text(str(text)).strip()
    except RowError:
        raise InputError(f"the {what} holds a character UTF-8 cannot encode (a lone surrogate, "
                         "e.g. half of an emoji): retype it") from None


def task_of(question: str | None, hypothesis: str | None, answers: Any, choices: Any) -> str:
    """The task the arguments describe (module docstring); ``InputError`` when they clash or
    a text is empty once normalised (``clean_input``)."""
    if (question is None) == (hypothesis is None):
        raise InputError("give a question (VQA, or VCR with choices) or a hypothesis (SNLI-VE)")
    what = "question" if question is not None else "hypothesis"
    if not clean_input(question if question is not None else hypothesis, what):
        raise InputError(f"the {what} is empty")
    if hypothesis is not None and (answers or choices):
        raise InputError("a hypothesis is classified (entailment / neutral / contradiction): "
                         "drop --answers / --choices")
    if answers and choices:
        raise InputError("give --answers (VQA) or --choices (VCR), not both")
    for name, opts in (("answers", answers), ("choices", choices)):
        if opts is not None and not [o for o in opts if clean_input(o, f"--{name} option")]:
            raise InputError(f"--{name} lists no non-empty option")
    return "snli_ve" if hypothesis is not None else "vcr" if choices else "vqa"


def missing_evidence(row: dict[str, Any]) -> str:
    """A note when the scored row had no region or a statement without keywords: there the
    region components are the global score (README, "Missing evidence is not evidence")."""
    parts = []
    if row.get("no_regions"):
        parts.append("the proposer found no region in the image")
    if int(row.get("no_keywords", 0) or 0):
        parts.append("a statement has no keyword (only stopwords or punctuation)")
    return ("no fine-grained evidence: " + "; ".join(parts)
            + ": its region components are the global score") if parts else ""


def check_image(path: str | Path) -> tuple[Path, Any]:
    """The image's absolute path and its decoded RGB pixels (PIL).

    Raises:
        InputError: no such file, or not an image PIL can decode (the reason is named).
    """

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"image not found: {path}")
    try:
        return p.resolve(), load_rgb(p.resolve().parent, p.resolve().name)
    except ImageLoadError as e:
        raise InputError(f"{path} is not a readable image ({e.reason})") from None


def _override(cfg: Config, **sections: dict[str, Any]) -> Config:
    """``cfg`` with nested keys replaced: ``_override(cfg, data={"root": r})``."""
    raw = to_dict(cfg)
    for section, values in sections.items():
        for dotted, v in values.items():
            node = raw[section]
            *parents, leaf = dotted.split(".")
            for k in parents:
                node = node[k]
            node[leaf] = v
    return build_config(raw, "<predict>")


def task_context(cfg: Config, task: str, calibrate: bool, runner_factory: Any
                 ) -> tuple[dict[str, Any], str]:
    """(task context, note): the run's cached fitted context when there is one, else a fit now
    (``calibrate``), else the train statistics alone (VQA) / nothing (SNLI-VE, VCR)."""

    root = cfg.data.root
    if root is None and (task == "vqa" or calibrate):
        raise InputError("data.root is not set: VQA without --answers takes its candidates "
                         "from the train split's answer vocabulary, and --calibrate fits on the "
                         "dataset; set data.root (--set data.root=DIR) or give --answers")
    exists = root is not None and Path(root).exists()
    if exists or task == "vqa" or calibrate:
        cfg = resolve_world(cfg)  # generates a missing synthetic world (as a run does)
        ctx = cached_context(cfg, task, cache_root(cfg))
        if ctx is not None:
            calibrated = get_task(task).calibrates(cfg)  # VCR has nothing to fit
            return ctx, (f"calibration: the fit a run cached under {cache_root(cfg)}"
                         if calibrated else "")
        if calibrate:
            ctx, _ = prepare_cached(cfg, task, cache_root(cfg), runner=runner_factory(cfg))
            return ctx, f"calibration: fitted now on {root}, cached under {cache_root(cfg)}"
    if task == "vqa":

        return (prepare_task(cfg, "vqa", calibrate=False),
                "uncalibrated: no cached yes/no thresholds for this config (--calibrate fits them)")
    if task == "snli_ve":
        return {"task": task}, ("no label: SNLI-VE's classes come from the text-only fit, and "
                                "no fitted context is cached for this config; these are the raw "
                                "scores of the hypothesis (--calibrate fits it, as a run would)")
    return {"task": task}, ""


def answers_context(answers: list[str]) -> dict[str, Any]:
    """A VQA context whose answer vocabulary is exactly ``answers`` (no priors, no prefixes)."""

    return {"task": "vqa", "vqa": {
        "answer_vocab": answers, "answer_classes": [normalize_answer(a) for a in answers],
        "answer_counts": [1] * len(answers), "answer_types": [answer_type_of(a) for a in answers],
        "prefix_answers": {}, "prefix_counts": {}}}


def input_row(task: str, root: Path, name: str, text: str, options: list[str]) -> dict[str, Any]:
    """The one unified row (``fgalign.schema``) of the call, with its ``image_key``."""

    row = base_row(task, "predict", 0)
    row.update(image_path=name, text=text, candidates=list(options))
    if task == "vcr":
        row.update(candidate_refs=[[] for _ in options])
    row["image_key"] = image_key(name, [], None, file_identity(root, name))
    return row


def _score(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def collect(task: str, row: dict[str, Any], cfg: Config, has_fit: bool
            ) -> tuple[str | None, list[Candidate], int]:
    """(prediction, candidates, index of the statement to draw) of one scored row."""

    comps = ["global"] + [c for c in cfg.align.components if c != "global"]
    stmts = [str(s) for s in row["statements"]]
    if task == "snli_ve" and has_fit:  # the fused scores are (3,) class logits per variant
        logits = {v: row[variant_column(v)] for v in variant_names(cfg.align)}
        cands = [Candidate(label, stmts[0], {v: _score(x[i]) for v, x in logits.items()})
                 for i, label in enumerate(SNLI_VE_LABELS)]
        best = int(row["pred"])
        return (SNLI_VE_LABELS[best] if 0 <= best < 3 else None), cands, 0
    texts = stmts if task == "snli_ve" else [str(c) for c in row["candidates"]]
    n = len(texts) if task != "vcr" else sum(1 for g in row["cand_group"] if int(g) == 0)
    cands = [Candidate(texts[i], stmts[i], {
        **{c: _score(row[score_column(c)][i]) for c in comps},
        "fusion": _score(row[variant_column("fusion")][i])}) for i in range(n)]
    if task == "snli_ve":
        return None, cands, 0
    best = int(row["pred"])
    return (texts[best] if 0 <= best < n else None), cands, max(best, 0)


def predict(image: str | Path, question: str | None = None, *, hypothesis: str | None = None,
            answers: list[str] | None = None, choices: list[str] | None = None,
            config: str | Path | Config = DEFAULT_CONFIG, overrides: list[str] | None = None,
            figure: str | Path | None = None, calibrate: bool = False) -> Prediction:
    """Score one image against a question's candidates, a hypothesis or multiple choices.

    Args:
        image: path of the photo (any format PIL reads; EXIF orientation honoured).
        question: VQA question (candidates: ``answers``, else the config's vocabulary), or the
            VCR question when ``choices`` is given.
        hypothesis: SNLI-VE hypothesis (classes entailment / neutral / contradiction).
        answers: VQA answer candidates (raw strings).
        choices: VCR answer choices (Q→A), any number ≥ 1.
        config: YAML config path or a ``Config`` (backbone, proposer, extractor, weights).
        overrides: ``key=value`` overrides of ``config`` (a path only).
        figure: write the best candidate's region-word alignment here (PNG, image size).
        calibrate: fit a missing calibration on the config's dataset (module docstring).

    Returns:
        A ``Prediction``; scores are cosine-based floats (component scores, ``fusion``), or
        SNLI-VE class logits per variant when a fit was used.

    Raises:
        InputError: no such image, not an image, empty or clashing texts; ConfigError (an
            InputError) for a bad config or override.
    """

    task = task_of(question, hypothesis, answers, choices)
    text = clean_input(question if question is not None else hypothesis, "text")
    options = list(dict.fromkeys(o for o in (clean_input(o, "option")
                                             for o in (answers or choices or [])) if o))
    path, pixels = check_image(image)
    cfg = config if isinstance(config, Config) else load_config(config, list(overrides or []))
    runner_of = lambda c: make_runner(c, LocalExecutor(progress=False))
    with tempfile.TemporaryDirectory(prefix="fgalign-") as tmp:
        if task == "vqa" and options:
            ctx, note = answers_context(options), ""
        else:
            ctx, note = task_context(cfg, task, calibrate, runner_of)
        has_fit = task != "snli_ve" or bool(ctx.get("snli_ve"))
        data = {"root": str(path.parent), "tasks": [task], "world": None,
                "synth.generate": False}
        tasks = {"vcr.proposer": None, "vcr.modes": ["q2a"]}  # no dataset boxes, no rationales
        if task == "vqa" and options:
            tasks.update({"vqa.k": len(options), "vqa.type_filter": False,
                          "vqa.prefix_filter": False, "vqa.oracle": False,
                          "vqa.tag_filter": False})
        pcfg = _override(cfg, data=data, tasks=tasks, ray={"cache_dir": f"{tmp}/stages"})
        t = get_task(task)
        rows = t.add_statements(pcfg, ctx, [input_row(task, path.parent, path.name, text,
                                                      options)])
        run = runner_of(pcfg).run_split(task, "predict", rows, ctx)
        row = calibrate_rows(task, pcfg.align, ctx, hydrate(
            list(run.iter_rows()), ImageRecords(run.image_records), run.tables,
            pcfg.keywords.max_keywords))[0]
        if row.get("error"):
            raise InputError(f"{image}: the image could not be scored ({row['error']})")
        best_text, cands, best = collect(task, row, pcfg, has_fit)
        note = "; ".join(n for n in (note, missing_evidence(row)) if n)
        links = keyword_regions(row, best, pcfg.align.tau, pcfg.align.ref_scope)
    boxes = to_array(row.get("boxes"), 2).reshape(-1, 4).tolist()  # (R, 4)
    alignment = [{"keyword": w, "region": r, "alpha": round(a, 4), "box": boxes[r]}
                 for w, r, a in links]
    out = None
    if figure is not None:
        out = str(overlay_figure(pixels, boxes, links, figure))
    return Prediction(task, str(image), text, best_text, cands, alignment, note, out)


__all__ = ["Candidate", "Prediction", "predict"]
