"""Small VQAv2 / SNLI-VE / VCR sets around real photos, in the official layouts.

    from fgalign.data.photo_sets import make_photo_sets
    manifest = make_photo_sets("/tmp/photos")        # /tmp/photos/{vqav2,snli_ve,vcr}/...
    fgalign data make-photo-set --out /tmp/photos    # the same from the command line

The photos are the sample photographs shipped inside scikit-image's wheel (``skimage.data``:
astronaut, coffee, chelsea, rocket, camera, coins, horse, hubble_deep_field,
immunohistochemistry, stereo_motorcycle, retina, moon; none needs a download) and
matplotlib's ``grace_hopper.jpg`` (``matplotlib.cbook.get_sample_data``). scikit-image is in
the ``dev`` extra; a missing install raises ImportError naming it.

Each photo is written in one of the file variants a real dataset holds (``PHOTOS[name].mode``):

- ``jpeg``: RGB re-encoded as JPEG (quality 90);  ``copy``: the shipped JPEG file, byte for byte;
- ``gray``: single-channel (mode ``L``) JPEG;  ``cmyk``: 4-channel CMYK JPEG;
- ``exif6`` / ``exif8``: pixels stored rotated with EXIF Orientation 6 / 8, so that a viewer
  that honours the tag (``PIL.ImageOps.exif_transpose``) shows the photo upright;
- ``large``: upsampled (Lanczos) to ``large_side`` pixels on its long side (default 4000).

Layouts (written through ``fgalign.data.formats``; field names as in the official releases):

- ``vqav2/``: ``v2_OpenEnded_mscoco_{train2014,val2014}_questions.json``,
  ``v2_mscoco_{split}_annotations.json`` (10 answers per question, ``question_type`` = the
  longest official question-type prefix, ``answer_type`` yes/no | number | other) and
  ``{split}/COCO_{split}_{image_id:012d}.jpg``. Every photo is in both splits (different
  image ids); train2014 files are re-encoded at JPEG quality 80 (``copy`` and ``large`` as
  plain ``jpeg``), so no train2014 file has the pixels of a val2014 file: VQAv2's splits hold
  disjoint images.
- ``snli_ve/``: ``snli_ve_{train,dev,test}.jsonl`` (premise caption ``sentence1``, hypothesis
  ``sentence2``, ``gold_label``; the image id under both spellings, ``Flikr30kID`` "<id>.jpg"
  and ``Flickr30K_ID`` "<id>"; one ``gold_label "-"`` line per split) and
  ``flickr30k_images/<id>.jpg``. The splits hold disjoint photos; test holds every variant.
- ``vcr/``: ``{train,val}.jsonl`` (token lists with 0-based object references, 4 answers and
  4 rationales) and ``vcr1images/<movie>/<img>.jpg`` + ``.json`` metadata (``boxes``
  [x1, y1, x2, y2, score] in the upright image's pixels, ``names``, ``segms`` (box polygons),
  ``width``, ``height``). val holds every variant.

In every file the rows are interleaved across photos (``round_robin``), so the first N rows
of a split cover min(N, photos) photos: ``data.limit=13`` (VQAv2 val2014), ``5`` (SNLI-VE
test) or ``5`` (VCR val) reads every photo and variant of that split.

The texts are written by hand about what each photo shows, in ``fgalign/assets/photo_sets.json``
(its layout: the file's ``_about``); they are small (13 photos, ~130 VQA questions, ~80 SNLI-VE
pairs, ~25 VCR questions) and meant for end-to-end runs of ``configs/{vqav2,snli_ve,vcr}.yaml``,
not for measuring accuracy.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fgalign.data.formats import snli_ve, vcr, vqav2

MODES = ("jpeg", "copy", "gray", "cmyk", "exif6", "exif8", "large")
EXIF_ORIENTATION = 0x0112

# the hand-written texts of the sets (their layout: the file's "_about")
TABLES = json.loads(resources.files("fgalign").joinpath("assets/photo_sets.json").read_text())
QUESTION_TYPES = vqav2.question_types()  # the official prefixes (values of question_type)


@dataclass(frozen=True)
class Photo:
    """One sample photo: where it comes from and the file variant it is written as."""

    source: str  # "skimage:<function>" or "matplotlib:<sample file>"
    mode: str  # one of MODES
    file: str | None = None  # the shipped file, for mode "copy"


PHOTOS: dict[str, Photo] = {name: Photo(**p) for name, p in TABLES["photos"].items()}


def _skimage_data():
    try:
        import skimage.data
    except ImportError as e:
        raise ImportError("photo sets need scikit-image (the 'dev' extra): "
                          "pip install 'fgalign[dev]' or pip install scikit-image") from e
    return skimage.data


def photo_source_file(name: str) -> Path:
    """Path of the shipped file of a ``copy`` photo."""
    photo = PHOTOS[name]
    kind, what = photo.source.split(":", 1)
    if kind == "matplotlib":
        from matplotlib import cbook

        return Path(cbook.get_sample_data(what, asfileobj=False))
    return Path(_skimage_data().__file__).parent / str(photo.file)


def load_photo(name: str) -> np.ndarray:
    """The upright photo as shipped: (H, W, 3) or (H, W) uint8."""
    kind, what = PHOTOS[name].source.split(":", 1)
    if kind == "matplotlib":
        with Image.open(photo_source_file(name)) as im:
            return np.asarray(im.convert("RGB"))
    arr = getattr(_skimage_data(), what)()
    arr = arr[0] if isinstance(arr, tuple) else arr  # stereo_motorcycle: (left, right, disp)
    if arr.dtype == bool:  # horse: a binary silhouette
        arr = np.where(arr, 255, 0).astype(np.uint8)
    return np.ascontiguousarray(arr)


def write_photo(name: str, path: Path, mode: str | None = None, large_side: int = 4000,
                quality: int = 90) -> tuple[int, int]:
    """Write photo ``name`` at ``path`` as ``mode`` (default: its own); returns upright (W, H).

    ``quality`` is the JPEG quality of re-encoded modes (``large`` uses ``quality - 5``).

    Raises:
        ValueError: unknown mode.
    """
    mode = mode or PHOTOS[name].mode
    if mode not in MODES:
        raise ValueError(f"unknown photo mode {mode!r}; known: {', '.join(MODES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        shutil.copyfile(photo_source_file(name), path)
        with Image.open(path) as im:
            return im.size
    im = Image.fromarray(load_photo(name))
    if mode == "gray":
        im.convert("L").save(path, "JPEG", quality=quality)
    elif mode == "cmyk":
        im.convert("RGB").convert("CMYK").save(path, "JPEG", quality=quality)
    elif mode in ("exif6", "exif8"):
        # Orientation 6: a viewer rotates the stored pixels 90° clockwise, so store them rotated
        # 90° counter-clockwise (PIL's ROTATE_90); orientation 8 is the other way round.
        rot = Image.Transpose.ROTATE_90 if mode == "exif6" else Image.Transpose.ROTATE_270
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = 6 if mode == "exif6" else 8
        im.convert("RGB").transpose(rot).save(path, "JPEG", quality=quality, exif=exif.tobytes())
    elif mode == "large":
        scale = large_side / max(im.size)
        im = im.convert("RGB").resize((round(im.width * scale), round(im.height * scale)),
                                      Image.Resampling.LANCZOS)
        im.save(path, "JPEG", quality=quality - 5)
    else:
        im.convert("RGB").save(path, "JPEG", quality=quality)
    return im.size


def round_robin(groups: list[list]) -> list:
    """Items of ``groups`` interleaved: the first of each group, then the second of each, ...

    Files list questions photo after photo in the releases; interleaving instead makes the
    first N rows (``data.limit``) cover N different photos, hence every file variant.
    """
    out, depth = [], max((len(g) for g in groups), default=0)
    for i in range(depth):
        out += [g[i] for g in groups if i < len(g)]
    return out

def question_type(question: str) -> str:
    """The longest official question-type prefix of ``question`` (word-aligned, lower case)."""
    words = question.lower().rstrip("?").split()
    best = ""
    for t in QUESTION_TYPES:
        tw = t.split()
        if words[:len(tw)] == tw and len(t) > len(best):
            best = t
    return best or "none of the above"


# --------------------------------------------------------------------------------------- VQAv2
# per photo, per split: [question, answer_type, answers]; answers "a*7|b*2|c": 7 x a, 2 x b, c
VQA: dict[str, dict[str, list[list[str]]]] = TABLES["vqav2"]
VQA_SPLITS = ("train2014", "val2014")
# the top-level keys of the files, in the order the photo sets have always written them
VQA_QUESTIONS_HEAD = ("info", "task_type", "data_type", "data_subtype", "license")
VQA_ANNOTATIONS_HEAD = ("info", "license", "data_subtype")


def _answers(spec: str) -> list[str]:
    out: list[str] = []
    for part in spec.split("|"):
        text, _, n = part.partition("*")
        out += [text] * int(n or 1)
    if len(out) != vqav2.N_ANSWERS:
        raise ValueError(f"VQA answers {spec!r}: {len(out)} answers, the format has "
                         f"{vqav2.N_ANSWERS}")
    return out


def make_vqav2(root: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write the VQAv2-layout set (see the module docstring); returns its manifest.

    Manifest: ``{"root", "questions": {split: n}, "images": {relpath: {"photo", "mode",
    "size": [W, H] upright}}}``.
    """
    root = Path(root)
    manifest: dict[str, Any] = {"root": str(root), "questions": {}, "images": {}}
    for s, split in enumerate(VQA_SPLITS):
        questions: list[list[dict]] = []  # per photo
        annotations: list[list[dict]] = []
        for p, (name, per_split) in enumerate(VQA.items()):
            image_id = 100 * (s + 1) + p + 1  # train2014: 101.., val2014: 201..
            mode, quality = PHOTOS[name].mode, 90
            if split != "val2014":  # re-encoded: no train file has the pixels of a val file
                mode, quality = {"large": "jpeg", "copy": "jpeg"}.get(mode, mode), 80
            rel = vqav2.image_relpath(split, image_id)
            size = write_photo(name, root / rel, mode, large_side, quality)
            manifest["images"][rel] = {"photo": name, "mode": mode, "size": list(size)}
            questions.append([])
            annotations.append([])
            for q, (text, answer_type, spec) in enumerate(per_split[split]):
                qid = image_id * 1000 + q
                answers = _answers(spec)
                questions[-1].append(vqav2.question(qid, image_id, text))
                annotations[-1].append(vqav2.annotation(
                    qid, image_id, question_type(text), answer_type,
                    Counter(answers).most_common(1)[0][0], answers))
        questions, annotations = round_robin(questions), round_robin(annotations)
        vqav2.write_split(root, split, questions, annotations,
                          description="fgalign photo set in the VQAv2 layout",
                          questions_head=VQA_QUESTIONS_HEAD,
                          annotations_head=VQA_ANNOTATIONS_HEAD)
        manifest["questions"][split] = len(questions)
    return manifest


# ------------------------------------------------------------------------------------- SNLI-VE
# per photo: split, flickr_id (its Flickr30k-style id), captions [{premise, hypotheses:
# [[hypothesis, gold_label]]}]
SNLI_VE: dict[str, dict[str, Any]] = TABLES["snli_ve"]
SNLI_VE_SPLITS = ("train", "dev", "test")


def make_snli_ve(root: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write the SNLI-VE-layout set (see the module docstring); returns its manifest.

    Manifest: ``{"root", "pairs": {split: n (gold_label "-" lines not counted)},
    "skipped": {split: 1}, "images": {relpath: {"photo", "mode", "size"}}}``.
    """
    root = Path(root)
    manifest: dict[str, Any] = {"root": str(root), "pairs": {}, "skipped": {}, "images": {}}
    per_photo: dict[str, list[list[dict]]] = {s: [] for s in SNLI_VE_SPLITS}
    for name, entry in SNLI_VE.items():
        split, image = entry["split"], f"{entry['flickr_id']}.jpg"
        per_photo[split].append([])
        rel = snli_ve.image_relpath(image)
        size = write_photo(name, root / rel, None, large_side)
        manifest["images"][rel] = {"photo": name, "mode": PHOTOS[name].mode, "size": list(size)}
        for c, caption in enumerate(entry["captions"]):
            for h, (hyp, label) in enumerate(caption["hypotheses"]):
                # both id spellings found in the wild: original release / newer generator
                id_key = snli_ve.IMAGE_ID_KEYS[(c + h) % 2]
                per_photo[split][-1].append(
                    snli_ve.pair(image, c, h, caption["premise"], hyp, label, id_key))
    # the i-th photo's pairs rotated by i: the first rows of a split mix the three labels
    lines = {split: round_robin([g[i % len(g):] + g[:i % len(g)] for i, g in enumerate(groups)])
             for split, groups in per_photo.items()}
    for split in SNLI_VE_SPLITS:
        manifest["pairs"][split] = len(lines[split])
        first = lines[split][0]  # one pair without an annotator majority: readers skip it
        lines[split].append({**first, "sentence2": "Something is in the picture.",
                             "gold_label": snli_ve.NO_MAJORITY,
                             "annotator_labels": ["neutral", "entailment"],
                             "pairID": first["pairID"].rsplit("r", 1)[0] + "r9x"})
        manifest["skipped"][split] = 1
        snli_ve.write_split(root, split, lines[split])
    return manifest


# ----------------------------------------------------------------------------------------- VCR
# per photo: split, mode, objects [[COCO name, [x1, y1, x2, y2] in upright pixels of the photo
# as shipped]], questions [{question, answer_choices, answer_label, rationale_choices,
# rationale_label}]. Tokens: a word, or a list of 0-based object indices ([0] → "the person" /
# "person 1"; object i is number i + 1 everywhere, fgalign.data.vcr.object_number).
VCR: dict[str, dict[str, Any]] = TABLES["vcr"]
VCR_MOVIE = "lsmdc_9000_Sample_Photographs"
VCR_SPLITS = ("train", "val")


def make_vcr(root: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write the VCR-layout set (see the module docstring); returns its manifest.

    Boxes of a ``large`` photo are scaled with it (they stay on the same pixels).
    Manifest: ``{"root", "questions": {split: n}, "images": {relpath: {"photo", "mode",
    "size"}}}``.
    """
    root = Path(root)
    images = root / vcr.IMAGES_DIR
    manifest: dict[str, Any] = {"root": str(root), "questions": {s: 0 for s in VCR_SPLITS},
                                "images": {}}
    per_photo: dict[str, list[list[dict]]] = {s: [] for s in VCR_SPLITS}
    for name, entry in VCR.items():
        split, mode = entry["split"], entry["mode"]
        per_photo[split].append([])
        stem = f"{VCR_MOVIE}/{name}@0"
        shipped = load_photo(name).shape[:2][::-1]  # (W, H) before any scaling
        size = write_photo(name, images / f"{stem}.jpg", mode, large_side)
        sx, sy = size[0] / shipped[0], size[1] / shipped[1]
        boxes = [[round(x1 * sx, 1), round(y1 * sy, 1), round(x2 * sx, 1), round(y2 * sy, 1)]
                 for _, (x1, y1, x2, y2) in entry["objects"]]
        names = [n for n, _ in entry["objects"]]
        polygons = [[[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]]] for b in boxes]
        vcr.write_metadata(images, f"{stem}.json", vcr.metadata(
            boxes, [1.0] * len(boxes), polygons, names, size[0], size[1]))
        manifest["images"][f"{vcr.IMAGES_DIR}/{stem}.jpg"] = {"photo": name, "mode": mode,
                                                             "size": list(size)}
        for q, item in enumerate(entry["questions"]):
            n = sum(len(g) for g in per_photo[split])
            per_photo[split][-1].append(vcr.annotation(
                movie=VCR_MOVIE, objects=names, interesting_scores=[0],
                answer_likelihood="likely", img_fn=f"{stem}.jpg", metadata_fn=f"{stem}.json",
                question_orig=" ".join(t if isinstance(t, str) else " and ".join(
                    str(i + 1) for i in t) for t in item["question"]),  # VCR's 1-based numbers
                question=item["question"], answer_choices=item["answer_choices"],
                answer_label=item["answer_label"], rationale_choices=item["rationale_choices"],
                rationale_label=item["rationale_label"], img_id=f"{split}-{n}",
                question_number=q, annot_id=f"{split}-{n}", match_fold=f"{split}-0",
                match_index=n))
    lines = {split: round_robin(groups) for split, groups in per_photo.items()}
    for split in VCR_SPLITS:
        manifest["questions"][split] = len(lines[split])
        vcr.write_split(root, split, lines[split])
    return manifest


def make_photo_sets(out: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write all three sets under ``out/{vqav2,snli_ve,vcr}``; returns ``{dataset: manifest}``.

    Raises:
        ImportError: scikit-image is not installed (the ``dev`` extra).
    """
    out = Path(out)
    return {"vqav2": make_vqav2(out / "vqav2", large_side),
            "snli_ve": make_snli_ve(out / "snli_ve", large_side),
            "vcr": make_vcr(out / "vcr", large_side)}
