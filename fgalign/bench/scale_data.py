"""A data set shaped like VQAv2, SNLI-VE and VCR at their real statistics, in their official layouts.

    spec = ScaleSpec(scale=10, vocab=3129)
    stats = generate_scale_data("runs/scale-w", spec)     # reused when scale_data.json matches
    stats["vqa"]["val2014"]["questions"], stats["snli_ve"]["test"]["images"]

One root serves ``configs/vqav2.yaml``, ``configs/snli_ve.yaml`` and ``configs/vcr.yaml``
(default ``DataCfg`` paths), written by ``fgalign.data.formats`` and read like the real downloads::

    v2_OpenEnded_mscoco_{train2014,val2014}_questions.json, v2_mscoco_{...}_annotations.json
    {train2014,val2014}/COCO_{split}_{image_id:012d}.jpg
    snli_ve_{train,dev,test}.jsonl, flickr30k_images/<id>.jpg
    {train,val}.jsonl, vcr1images/<movie>/<frame>.jpg + .json (metadata: boxes, segms, names)
    scale_data.json                                         spec + counts (``ScaleStats``)

Images are synthetic scenes (``fgalign.data.synth``: ``sample_scene`` + ``render_scene``), saved
as JPEG. Statistics (sources: the datasets' published sizes and the VQAv2 paper):

- VQAv2: 214,354 questions / 40,504 images in val2014 = 5.29 questions per image, spread as
  5 or 6 per image so the total is ``round(5.29 × images)``; answer types yes/no 38 %,
  number 12 %, other 50 % (question types from ``assets/vqav2_question_types.txt``, the
  official prefixes, Zipf-weighted by their listed frequency rank within each answer type); an
  answer vocabulary of exactly ``vocab`` answers (2 yes/no, ~3 % numbers as digits, colours,
  then other words), Zipf-distributed (exponent 1) within each type; "what color" questions
  are answered with colours. 10 human answers per question: 5–10 give the true answer (a
  tenth of them as a surface variant that normalises to it: "Red", "two"), the others distinct
  alternatives of the same type, so the majority answer is always the true one. ``vocab`` of the
  train questions take the vocabulary answers in turn, so the train split's top-N
  majority answers are exactly the vocabulary (``tasks.vqa.answer_vocab_size = vocab``); they
  come last in the split, so a calibration subset (the first ``val_limit`` rows) has the
  usual answer-type mix.
- SNLI-VE: 17,901 test pairs / 1,000 images ≈ 18 per image: 6 premises (captions) × 3
  hypotheses (entailment, neutral, contradiction) per image, exactly.
- VCR: 26,534 val questions / 9,929 images = 2.67 per image (2 or 3), 4 answers + 4
  rationales each as token lists with object references, metadata boxes per image.

Sizes: the evaluated splits (val2014, test, val) have ``scale × <task>_images`` images; the
fitting splits (train2014, train, dev) have fixed sizes, independent of ``scale``, so 1× and
10× share one answer vocabulary and one set of fitted classifiers. Every random choice comes
from ``np.random.default_rng([seed, task, split, index, stream])``: same spec → same files.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fgalign.data.formats import snli_ve, vcr, vqav2
from fgalign.data.synth.render import render_scene, visible_fractions
from fgalign.data.synth.scene import sample_scene

FORMAT_VERSION = 2  # 2: the covering train questions last (1: first)
VQA_Q_PER_IMAGE = 214_354 / 40_504  # VQAv2 val2014
VCR_Q_PER_IMAGE = 26_534 / 9_929  # VCR val
SNLI_PREMISES, SNLI_LABELS = 6, ("entailment", "neutral", "contradiction")  # 6 × 3 = 18 / image
ANSWER_TYPE_MIX = {"yes/no": 0.38, "number": 0.12, "other": 0.50}
YES_NO_WORDS = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "has", "have"}
COLORS = ("white", "black", "red", "blue", "green", "brown", "yellow", "gray", "orange", "pink",
          "purple", "tan", "silver", "beige")
NOUNS = ("umbrella", "dog", "cat", "horse", "bus", "train", "car", "kite", "pizza", "cake",
         "bench", "clock", "vase", "laptop", "phone", "table", "chair", "couch", "bed", "sink",
         "oven", "bowl", "cup", "fork", "knife", "spoon", "banana", "apple", "sandwich", "lemon",
         "broccoli", "carrot", "donut", "bicycle", "motorcycle", "airplane", "truck", "boat",
         "sign", "hydrant", "meter", "bird", "sheep", "cow", "elephant", "bear", "zebra",
         "giraffe", "backpack", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
         "ball", "bat", "glove", "skateboard", "surfboard", "racket", "bottle", "glass", "plate",
         "window", "door", "wall", "floor", "grass", "sky", "tree", "water", "beach", "street",
         "building", "fence", "shirt", "hat", "jacket", "helmet")
ADJECTIVES = ("wooden", "metal", "plastic", "glass", "small", "large", "old", "new", "dirty",
              "clean", "wet", "dry", "open", "closed", "empty", "full", "tall", "short", "round",
              "square", "striped", "dotted", "shiny", "dark", "light", "broken", "electric",
              "outdoor", "indoor", "frozen", "fresh", "sliced", "baked", "fried", "paper",
              "leather", "cotton", "stone", "brick", "rubber")
VCR_CLASSES = ("person", "person", "person", "person", "car", "dog", "chair", "cup", "bottle",
               "tie", "horse", "handbag")
_TASK = {"vqa": 1, "snli_ve": 2, "vcr": 3}
_SPLIT = {"train2014": 1, "val2014": 2, "train": 3, "dev": 4, "test": 5, "val": 6}


@dataclass(frozen=True)
class ScaleSpec:
    """What to generate. Image counts are per scale unit (1×) for the evaluated splits."""

    scale: int = 1  # multiplies the evaluated splits' images
    vocab: int = 3129  # VQA answer vocabulary (3,129 in the standard VQAv2 setup)
    seed: int = 0
    image_size: int = 64  # square image side (pixels)
    vqa_images: int = 20  # val2014 images at 1× (→ round(5.29 × 20) = 106 questions)
    snli_ve_images: int = 3  # test images at 1× (× 18 pairs)
    vcr_images: int = 15  # val images at 1× (→ 40 questions)
    train_questions: int = 6258  # VQA train2014 questions (≥ vocab: each answer once first)
    snli_ve_train_images: int = 20  # train (text-only classifier) and dev (val statistics)
    snli_ve_dev_images: int = 10
    vcr_train_images: int = 20  # train (answer / rationale priors)


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal integers, the larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _rng(spec: ScaleSpec, task: str, split: str, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, _TASK[task], _SPLIT[split], index, stream])


@functools.lru_cache(maxsize=64)
def _zipf(n: int, s: float = 1.0) -> np.ndarray:  # read-only (cached)
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


# ---------------------------------------------------------------- VQA vocabulary and types
def answer_vocab(vocab: int) -> dict[str, list[str]]:
    """The answers per type, most frequent first: ``{"yes/no", "number", "color", "other"}``.

    ``vocab`` answers in all: yes / no, ``max(1, round(0.03 × vocab))`` digits, up to 14
    colours, then nouns and "adjective noun" phrases (no articles or number words, so the
    official answer normalisation leaves them unchanged).

    Raises:
        ValueError: ``vocab`` below 5 or above what the word lists can make.
    """
    n_num = max(1, round(0.03 * vocab))
    n_rest = vocab - 2 - n_num
    words = list(NOUNS) + [f"{a} {n}" for a in ADJECTIVES for n in NOUNS if a != n]
    if n_rest < 2 or n_rest > len(COLORS) + len(words):
        raise ValueError(f"vocab must be in [5, {2 + n_num + len(COLORS) + len(words)}], "
                         f"got {vocab}")
    n_col = min(len(COLORS), max(1, n_rest // 10))
    return {"yes/no": ["yes", "no"], "number": [str(i) for i in range(n_num)],
            "color": list(COLORS[:n_col]), "other": words[: n_rest - n_col]}


@functools.lru_cache(maxsize=1)
def question_types() -> dict[str, list[str]]:
    """Official VQAv2 question types grouped by the answer type they ask for (most frequent
    first): ``{"yes/no", "number", "color", "other"}`` ("color": the "what color" types)."""
    groups: dict[str, list[str]] = {"yes/no": [], "number": [], "color": [], "other": []}
    for t in vqav2.question_types():
        if t.startswith(("how many", "what number")):
            groups["number"].append(t)
        elif t.split()[0] in YES_NO_WORDS:
            groups["yes/no"].append(t)
        elif "color" in t:
            groups["color"].append(t)
        else:
            groups["other"].append(t)
    return groups


def question_text(qtype: str, group: str, rng: np.random.Generator) -> str:
    """A question of type ``qtype`` ("what color is the" → "What color is the umbrella?")."""
    noun, adj = str(rng.choice(NOUNS)), str(rng.choice(ADJECTIVES))
    last = qtype.split()[-1]
    if last in ("man", "woman", "person"):
        body = f"{qtype} holding" + (f" a {noun}" if group == "yes/no" else "")
    elif group == "number" and qtype == "how many":
        body = f"how many {noun}s are there"
    elif last in ("the", "a", "an", "this", "these", "that", "of", "any"):
        body = f"{qtype} {noun}" + (f" {adj}" if group == "yes/no" else "")
    elif last == "there":
        body = f"{qtype} a {adj} {noun}"
    elif last in ("why", "how", "what", "which", "where", "who"):
        body = f"{qtype} is the {noun} {adj}"
    elif last in ("is", "are", "does", "do", "was", "has", "could", "can", "it", "you", "they",
                  "he"):
        body = f"{qtype} the {noun}" + (f" {adj}" if group == "yes/no" else "")
    else:
        body = f"{qtype} of the {noun}"
    return body[0].upper() + body[1:] + "?"


def human_answers(answer: str, pool: list[str], rng: np.random.Generator) -> list[str]:
    """10 answers: 5–10 (6–10 for yes/no) give ``answer``, the rest distinct alternatives."""
    k = int(rng.choice([10, 9, 8, 7, 6, 5], p=[0.35, 0.2, 0.15, 0.12, 0.1, 0.08]))
    others = [a for a in pool if a != answer]
    if len(others) < 5:
        k = max(k, 6)  # few alternatives (yes/no, tiny vocabularies): keep a clear majority
    n_alt = 10 - k
    if others and n_alt:
        p = _zipf(len(others))
        replace = len(others) < n_alt
        alts = [others[i] for i in rng.choice(len(others), n_alt, replace=replace, p=p)]
    else:
        alts, k = [], 10
    same = [variant(answer) if rng.random() < 0.1 else answer for _ in range(k)]
    answers = same + alts
    return [answers[i] for i in rng.permutation(10)]


def variant(answer: str) -> str:
    """A surface form that the official normalisation maps back to ``answer``."""
    words = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}
    return words.get(answer, answer.capitalize())


def _vqa_question(spec, split, index, image_id, group, answer, vocab, types):
    rng = _rng(spec, "vqa", split, index, 1)
    tlist = types["color" if group == "color" else group]
    qtype = tlist[int(rng.choice(len(tlist), p=_zipf(len(tlist), 0.7)))]
    text = question_text(qtype, group, rng)
    pool = vocab[group]
    answers = human_answers(answer, pool, rng)
    qid = image_id * 1000 + index % 1000
    question = vqav2.question(qid, image_id, text)
    ann = vqav2.annotation(qid, image_id, qtype, "other" if group == "color" else group, answer,
                           answers, ["yes" if a == answer else "maybe" for a in answers])
    return question, ann


def _draw_answer(rng: np.random.Generator, vocab: dict[str, list[str]], n_colors: float
                 ) -> tuple[str, str]:
    t = str(rng.choice(list(ANSWER_TYPE_MIX), p=list(ANSWER_TYPE_MIX.values())))
    if t == "other" and vocab["color"] and rng.random() < n_colors:
        t = "color"
    pool = vocab[t]
    return t, pool[int(rng.choice(len(pool), p=_zipf(len(pool))))]


def _write_image(path: Path, spec: ScaleSpec, rng: np.random.Generator, image_id: int) -> dict:
    scene = sample_scene(rng, image_id, path.name, spec.image_size, visible_fractions)
    path.parent.mkdir(parents=True, exist_ok=True)
    render_scene(scene, rng).save(path, format="JPEG", quality=90)
    return scene


def write_vqa(root: Path, spec: ScaleSpec, split: str, images: int, questions: int | None,
              cover: bool) -> dict[str, Any]:
    """One VQAv2 split; ``cover``: the first ``vocab`` questions take each answer once."""
    vocab, types = answer_vocab(spec.vocab), question_types()
    n_q = questions if questions is not None else round(VQA_Q_PER_IMAGE * images)
    images = images or math.ceil(n_q / VQA_Q_PER_IMAGE)
    order = [(g, a) for g in ("yes/no", "number", "color", "other") for a in vocab[g]]
    if cover and n_q < len(order):
        raise ValueError(f"{split}: {n_q} questions cannot cover a {len(order)}-answer vocabulary")
    first = n_q - len(order) if cover else n_q  # the covering questions come last, so a
    # calibration subset (the first ``val_limit`` rows) has the usual answer-type mix
    picks = [_draw_answer(_rng(spec, "vqa", split, i, 2), vocab, 0.15) if i < first
             else order[i - first] for i in range(n_q)]
    qs, anns, counts = [], [], {"yes/no": 0, "number": 0, "other": 0}
    per_image, index = spread(n_q, images), 0
    base = _SPLIT[split] * 10_000_000
    for i, n in enumerate(per_image):
        image_id = base + i
        rng = _rng(spec, "vqa", split, i, 0)
        _write_image(root / vqav2.image_relpath(split, image_id), spec, rng, image_id)
        for _ in range(n):
            group, answer = picks[index]
            q, a = _vqa_question(spec, split, index, image_id, group, answer, vocab, types)
            qs.append(q)
            anns.append(a)
            counts[a["answer_type"]] += 1
            index += 1
    vqav2.write_split(root, split, qs, anns, description="fgalign scale data (VQAv2 layout)")
    return {"images": images, "questions": n_q, "answer_types": counts,
            "distinct_answers": len({a["multiple_choice_answer"] for a in anns})}


# ---------------------------------------------------------------- SNLI-VE and VCR
def _phrase(o: dict) -> str:
    return f"{o['size']} {o['color']} {o['shape']}"


def write_snli_ve(root: Path, spec: ScaleSpec, split: str, images: int) -> dict[str, Any]:
    """One SNLI-VE split: per image 6 premises × (entailment, neutral, contradiction)."""
    lines = []
    for i in range(images):
        flickr = 1_000_000_000 + _SPLIT[split] * 1_000_000 + i
        rng = _rng(spec, "snli_ve", split, i, 0)
        scene = _write_image(root / snli_ve.image_relpath(f"{flickr}.jpg"), spec, rng, flickr)
        objs = scene["objects"]
        for c in range(SNLI_PREMISES):
            a, b = objs[c % len(objs)], objs[(c + 1) % len(objs)]
            place = str(rng.choice(NOUNS))
            premise = f"A {_phrase(a)} and a {_phrase(b)} lie near the {place}."
            wrong = str(rng.choice([x for x in COLORS if x != a["color"]]))
            hyps = {"entailment": f"There is a {a['color']} {a['shape']} near the {place}.",
                    "neutral": f"The {a['shape']} was put there by a {rng.choice(NOUNS)} owner.",
                    "contradiction": f"There is only a {wrong} {b['shape']} in the picture."}
            lines += [snli_ve.pair(f"{flickr}.jpg", c, 1, premise, hyps[label], label)
                      for label in SNLI_LABELS]
    snli_ve.write_split(root, split, lines)
    return {"images": images, "pairs": len(lines),
            "labels": {lab: sum(x["gold_label"] == lab for x in lines) for lab in SNLI_LABELS}}


_VERBS = ("looking at", "talking to", "standing next to", "waiting for", "pointing at",
          "walking toward", "smiling at", "holding")


def _vcr_choice(rng: np.random.Generator, n: int) -> list:
    a, b = (int(x) for x in rng.choice(n, 2, replace=n < 2))
    verb = str(rng.choice(_VERBS))
    return [[a], *verb.split(), [b], "because", "it", "is", str(rng.choice(ADJECTIVES)), "."]


def write_vcr(root: Path, spec: ScaleSpec, split: str, images: int) -> dict[str, Any]:
    """One VCR split: 2.67 questions per image, 4 answers + 4 rationales with references."""
    n_q = round(VCR_Q_PER_IMAGE * images)
    lines, refs = [], 0
    for i, n in enumerate(spread(n_q, images)):
        movie = f"{1000 + i // 10}_Synthetic_movie"
        stem = f"lsmdc_{movie}/{movie}_{i:05d}@0"
        rng = _rng(spec, "vcr", split, i, 0)
        scene = _write_image(root / vcr.IMAGES_DIR / f"{stem}.jpg", spec, rng, i)
        objs = scene["objects"]
        names = [str(rng.choice(VCR_CLASSES)) for _ in objs]
        scores = [round(float(rng.uniform(0.5, 1.0)), 3) for _ in objs]
        vcr.write_metadata(root / vcr.IMAGES_DIR, f"{stem}.json", vcr.metadata(
            [o["box"] for o in objs], scores, [[o["polygon"]] for o in objs], names,
            spec.image_size, spec.image_size))
        for q in range(n):
            k = len(lines)
            a, b = (int(x) for x in rng.choice(len(objs), 2, replace=False))
            question = ["Why", "is", [a], str(rng.choice(_VERBS)), [b], "?"]
            answers = [_vcr_choice(rng, len(objs)) for _ in range(4)]
            rationales = [_vcr_choice(rng, len(objs)) for _ in range(4)]
            refs += sum(isinstance(t, list) for c in [question, *answers, *rationales] for t in c)
            lines.append(vcr.annotation(
                movie=movie, objects=names, img_fn=f"{stem}.jpg", metadata_fn=f"{stem}.json",
                question=question, answer_choices=answers, answer_label=int(rng.integers(4)),
                rationale_choices=rationales, rationale_label=int(rng.integers(4)),
                img_id=f"{split}-{i}", question_number=q, annot_id=f"{split}-{k}",
                match_fold=f"{split}-{k}", match_index=k))
    vcr.write_split(root, split, lines)
    return {"images": images, "questions": n_q, "references": refs}


def generate_scale_data(out: str | Path, spec: ScaleSpec) -> dict[str, Any]:
    """Write every split of the three tasks under ``out`` (reused when its spec matches).

    Returns:
        ``{"spec": {...}, "format_version", "vqa": {split: stats}, "snli_ve": {...},
        "vcr": {...}}`` (also written to ``out/scale_data.json``, last).
    """
    out = Path(out)
    meta = out / "scale_data.json"
    want = {"spec": asdict(spec), "format_version": FORMAT_VERSION}
    if meta.is_file():
        stats = json.loads(meta.read_text())
        if {k: stats.get(k) for k in want} == want:
            return stats
    out.mkdir(parents=True, exist_ok=True)
    s = spec.scale
    stats = {**want,
             "vqa": {"train2014": write_vqa(out, spec, "train2014", 0, spec.train_questions, True),
                     "val2014": write_vqa(out, spec, "val2014", s * spec.vqa_images, None, False)},
             "snli_ve": {"train": write_snli_ve(out, spec, "train", spec.snli_ve_train_images),
                         "dev": write_snli_ve(out, spec, "dev", spec.snli_ve_dev_images),
                         "test": write_snli_ve(out, spec, "test", s * spec.snli_ve_images)},
             "vcr": {"train": write_vcr(out, spec, "train", spec.vcr_train_images),
                     "val": write_vcr(out, spec, "val", s * spec.vcr_images)}}
    meta.write_text(json.dumps(stats, indent=1))
    return stats

