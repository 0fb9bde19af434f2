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

Layouts (field names as in the official releases):

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

The texts are written by hand about what each photo shows; they are small (13 photos,
~130 VQA questions, ~80 SNLI-VE pairs, ~25 VCR questions) and meant for end-to-end runs of
``configs/{vqav2,snli_ve,vcr}.yaml``, not for measuring accuracy.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

MODES = ("jpeg", "copy", "gray", "cmyk", "exif6", "exif8", "large")
EXIF_ORIENTATION = 0x0112

# The official VQAv2 question-type prefixes (the values of the annotations' question_type).
QUESTION_TYPES = (
    "how many", "is the", "what", "what color is the", "what is the", "is this", "is this a",
    "what is", "are the", "what kind of", "is there a", "what type of", "is it", "what are the",
    "where is the", "is there", "does the", "what color are the", "are these", "are there",
    "which", "is", "what is the man", "is the man", "are", "how", "does this", "what is on the",
    "what does the", "how many people are", "what is in the", "what is this", "do", "what are",
    "are they", "what time", "what sport is", "are there any", "is he", "what color is", "why",
    "where are the", "what color", "who is", "what animal is", "is the woman", "is this an",
    "do you", "how many people are in", "what room is", "has", "is this person",
    "what is the woman", "can you", "why is the", "is the person", "what is the color of the",
    "what is the person", "could", "was", "is that a", "what number is", "what is the name",
    "what brand",
)


@dataclass(frozen=True)
class Photo:
    """One sample photo: where it comes from and the file variant it is written as."""

    source: str  # "skimage:<function>" or "matplotlib:<sample file>"
    mode: str  # one of MODES
    file: str | None = None  # the shipped file, for mode "copy"


PHOTOS: dict[str, Photo] = {
    "astronaut": Photo("skimage:astronaut", "jpeg"),
    "coffee": Photo("skimage:coffee", "cmyk"),
    "chelsea": Photo("skimage:chelsea", "exif8"),
    "rocket": Photo("skimage:rocket", "copy", "rocket.jpg"),
    "camera": Photo("skimage:camera", "gray"),
    "coins": Photo("skimage:coins", "gray"),
    "horse": Photo("skimage:horse", "gray"),
    "hubble": Photo("skimage:hubble_deep_field", "large"),
    "ihc": Photo("skimage:immunohistochemistry", "cmyk"),
    "motorcycle": Photo("skimage:stereo_motorcycle", "exif6"),
    "retina": Photo("skimage:retina", "copy", "retina.jpg"),
    "moon": Photo("skimage:moon", "gray"),
    "hopper": Photo("matplotlib:grace_hopper.jpg", "copy", "grace_hopper.jpg"),
}


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
# (question, answer_type, answers): answers "a*7|b*2|c" = 7 x a, 2 x b, 1 x c (10 in all).
VQA: dict[str, dict[str, list[tuple[str, str, str]]]] = {
    "astronaut": {
        "train2014": [
            ("What color is the suit?", "other", "orange*9|red"),
            ("Is the woman smiling?", "yes/no", "yes*10"),
            ("What is behind the woman on the left?", "other", "flag*7|american flag*3"),
            ("Is this person an astronaut?", "yes/no", "yes*9|no"),
            ("How many flags are there?", "number", "1*9|2"),
            ("What is the woman holding?", "other", "helmet*8|nothing*2"),
        ],
        "val2014": [
            ("What color is the helmet?", "other", "black*6|black and white*3|white"),
            ("Is there a space shuttle in the picture?", "yes/no", "yes*8|no*2"),
            ("What is the person wearing?", "other", "space suit*6|suit*2|uniform*2"),
            ("How many people are in the photo?", "number", "1*10"),
        ],
    },
    "coffee": {
        "train2014": [
            ("What color is the cup?", "other", "red*8|brown*2"),
            ("What is in the cup?", "other", "coffee*9|espresso"),
            ("Is there a spoon?", "yes/no", "yes*10"),
            ("What is the table made of?", "other", "wood*9|wooden"),
            ("How many cups are there?", "number", "1*10"),
            ("Is the cup empty?", "yes/no", "no*10"),
        ],
        "val2014": [
            ("What color is the saucer?", "other", "red*8|brown*2"),
            ("What is on the saucer?", "other", "spoon*6|cup*4"),
            ("Is this a cup of tea?", "yes/no", "no*7|yes*3"),
            ("How many spoons are there?", "number", "1*10"),
        ],
    },
    "chelsea": {
        "train2014": [
            ("What animal is this?", "other", "cat*10"),
            ("What color are the cat's eyes?", "other", "green*8|yellow*2"),
            ("Is the cat sleeping?", "yes/no", "no*10"),
            ("How many cats are there?", "number", "1*10"),
            ("What color is the cat?", "other", "brown*5|orange*3|tan*2"),
            ("Is this a dog?", "yes/no", "no*10"),
        ],
        "val2014": [
            ("What animal is in the picture?", "other", "cat*10"),
            ("Is the cat looking at the camera?", "yes/no", "yes*9|no"),
            ("What color is the cat's nose?", "other", "pink*9|red"),
            ("Does the cat have stripes?", "yes/no", "yes*10"),
        ],
    },
    "rocket": {
        "train2014": [
            ("What is in the middle of the picture?", "other", "rocket*9|spaceship"),
            ("Is it night?", "yes/no", "yes*8|no*2"),
            ("How many towers are there?", "number", "4*6|3*3|5"),
            ("What color is the sky?", "other", "blue*9|dark blue"),
            ("Is the rocket flying?", "yes/no", "no*9|yes"),
            ("Are the lights on?", "yes/no", "yes*10"),
        ],
        "val2014": [
            ("What color is the rocket?", "other", "white*10"),
            ("Is there a rocket?", "yes/no", "yes*10"),
            ("How many rockets are there?", "number", "1*10"),
            ("What time of day is it?", "other", "night*7|evening*2|dusk"),
        ],
    },
    "camera": {
        "train2014": [
            ("What is the man holding?", "other", "camera*9|tripod"),
            ("Is this photo in black and white?", "yes/no", "yes*10"),
            ("What is the man wearing?", "other", "coat*6|jacket*3|black coat"),
            ("How many people are there?", "number", "1*10"),
            ("Is the man outside?", "yes/no", "yes*10"),
            ("What is under the camera?", "other", "tripod*10"),
        ],
        "val2014": [
            ("What is the man doing?", "other", "taking picture*5|filming*3|photographing*2"),
            ("Is the man standing on grass?", "yes/no", "yes*9|no"),
            ("What color is the man's coat?", "other", "black*10"),
            ("How many tripods are there?", "number", "1*10"),
        ],
    },
    "coins": {
        "train2014": [
            ("What are these?", "other", "coins*10"),
            ("How many coins are there?", "number", "24*6|20*2|25*2"),
            ("Is this picture in color?", "yes/no", "no*10"),
            ("Are the coins round?", "yes/no", "yes*10"),
            ("How many rows of coins are there?", "number", "4*9|5"),
            ("What color is the background?", "other", "black*7|gray*3"),
        ],
        "val2014": [
            ("What is on the table?", "other", "coins*9|money"),
            ("Are these coins old?", "yes/no", "yes*9|no"),
            ("How many coins are in the top row?", "number", "6*10"),
            ("Is there a person?", "yes/no", "no*10"),
        ],
    },
    "horse": {
        "train2014": [
            ("What animal is this?", "other", "horse*10"),
            ("What color is the horse?", "other", "black*10"),
            ("Is this a silhouette?", "yes/no", "yes*8|no*2"),
            ("How many legs can you see?", "number", "4*10"),
            ("Is there a rider on the horse?", "yes/no", "no*10"),
            ("What color is the background?", "other", "white*10"),
        ],
        "val2014": [
            ("What animal is in the picture?", "other", "horse*10"),
            ("Is the horse running?", "yes/no", "no*8|yes*2"),
            ("How many horses are there?", "number", "1*10"),
            ("Which way is the horse facing?", "other", "right*9|left"),
        ],
    },
    "hubble": {
        "train2014": [
            ("What is in the picture?", "other", "galaxies*5|stars*4|space"),
            ("What color is the background?", "other", "black*10"),
            ("Is this taken from space?", "yes/no", "yes*9|no"),
            ("Are there any people?", "yes/no", "no*10"),
            ("Is it night?", "yes/no", "yes*7|no*3"),
            ("How many moons are there?", "number", "0*10"),
        ],
        "val2014": [
            ("What are the bright dots?", "other", "stars*6|galaxies*4"),
            ("Is this outer space?", "yes/no", "yes*10"),
            ("How many planets can you see?", "number", "0*8|1*2"),
            ("What color are the dots?", "other", "white*4|orange*3|blue*3"),
        ],
    },
    "ihc": {
        "train2014": [
            ("What is this?", "other", "cells*6|tissue*4"),
            ("Is this under a microscope?", "yes/no", "yes*10"),
            ("What color is the stain?", "other", "brown*8|blue*2"),
            ("Are there any animals?", "yes/no", "no*10"),
            ("How many people are there?", "number", "0*10"),
            ("What color are the cells?", "other", "brown*6|blue*4"),
        ],
        "val2014": [
            ("What type of image is this?", "other", "microscope*6|medical*4"),
            ("Is this food?", "yes/no", "no*9|yes"),
            ("What color is the background?", "other", "white*6|blue*4"),
            ("Is the tissue stained?", "yes/no", "yes*10"),
        ],
    },
    "motorcycle": {
        "train2014": [
            ("What color is the motorcycle?", "other", "red*10"),
            ("Is the motorcycle parked?", "yes/no", "yes*10"),
            ("Where is the motorcycle?", "other", "garage*8|inside*2"),
            ("How many wheels does the motorcycle have?", "number", "2*10"),
            ("Is anyone riding the motorcycle?", "yes/no", "no*10"),
            ("What is on the shelves?", "other", "boxes*9|tools"),
        ],
        "val2014": [
            ("What vehicle is this?", "other", "motorcycle*9|motorbike"),
            ("Is the motorcycle red?", "yes/no", "yes*10"),
            ("How many motorcycles are there?", "number", "1*10"),
            ("What room is this?", "other", "garage*9|workshop"),
        ],
    },
    "retina": {
        "train2014": [
            ("What is this a picture of?", "other", "eye*7|retina*3"),
            ("What color is the image?", "other", "orange*6|red*4"),
            ("Is this a medical image?", "yes/no", "yes*10"),
            ("Are there blood vessels?", "yes/no", "yes*10"),
            ("What shape is the picture?", "other", "circle*9|round"),
            ("How many eyes are there?", "number", "1*10"),
        ],
        "val2014": [
            ("What part of the body is this?", "other", "eye*9|retina"),
            ("Is this a sunset?", "yes/no", "no*9|yes"),
            ("What color are the vessels?", "other", "red*9|dark red"),
            ("How many circles are there?", "number", "1*9|2"),
        ],
    },
    "moon": {
        "train2014": [
            ("Is this the moon?", "yes/no", "yes*8|no*2"),
            ("Is this photo in color?", "yes/no", "no*10"),
            ("What is on the surface?", "other", "craters*9|rocks"),
            ("How many craters are there?", "number", "3*4|2*3|5*3"),
            ("What color is the ground?", "other", "gray*10"),
            ("Is there water?", "yes/no", "no*10"),
        ],
        "val2014": [
            ("What are the round marks?", "other", "craters*10"),
            ("Is there a person?", "yes/no", "no*10"),
            ("What color is the picture?", "other", "gray*8|black and white*2"),
            ("How many people are there?", "number", "0*10"),
        ],
    },
    "hopper": {
        "train2014": [
            ("Is the woman wearing glasses?", "yes/no", "yes*10"),
            ("What is the woman wearing?", "other", "uniform*8|hat*2"),
            ("What color is the uniform?", "other", "black*6|navy*3|blue"),
            ("Is there a flag?", "yes/no", "yes*10"),
            ("How many people are there?", "number", "1*10"),
            ("What is on the woman's head?", "other", "hat*9|cap"),
        ],
        "val2014": [
            ("Is the woman old?", "yes/no", "yes*10"),
            ("What color is the background?", "other", "blue*10"),
            ("What is behind the woman?", "other", "flag*10"),
            ("How many flags are there?", "number", "1*10"),
        ],
    },
}

VQA_SPLITS = ("train2014", "val2014")


def _answers(spec: str) -> list[str]:
    out: list[str] = []
    for part in spec.split("|"):
        text, _, n = part.partition("*")
        out += [text] * int(n or 1)
    if len(out) != 10:
        raise ValueError(f"VQA answers {spec!r}: {len(out)} answers, the format has 10")
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
            rel = f"{split}/COCO_{split}_{image_id:012d}.jpg"
            size = write_photo(name, root / rel, mode, large_side, quality)
            manifest["images"][rel] = {"photo": name, "mode": mode, "size": list(size)}
            questions.append([])
            annotations.append([])
            for q, (text, answer_type, spec) in enumerate(per_split[split]):
                qid = image_id * 1000 + q
                answers = _answers(spec)
                questions[-1].append({"image_id": image_id, "question": text, "question_id": qid})
                annotations[-1].append({
                    "question_id": qid, "image_id": image_id,
                    "question_type": question_type(text), "answer_type": answer_type,
                    "multiple_choice_answer": Counter(answers).most_common(1)[0][0],
                    "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
                                for i, a in enumerate(answers)]})
        questions, annotations = round_robin(questions), round_robin(annotations)
        info = {"description": "fgalign photo set in the VQAv2 layout", "version": "2.0"}
        (root / f"v2_OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps({
            "info": info, "task_type": "Open-Ended", "data_type": "mscoco",
            "data_subtype": split, "license": {}, "questions": questions}))
        (root / f"v2_mscoco_{split}_annotations.json").write_text(json.dumps({
            "info": info, "license": {}, "data_subtype": split, "annotations": annotations}))
        manifest["questions"][split] = len(questions)
    return manifest


# ------------------------------------------------------------------------------------- SNLI-VE
# Per photo: its split, its Flickr30k-style id, and (premise, [(hypothesis, gold label)]).
SNLI_VE: dict[str, tuple[str, str, list[tuple[str, list[tuple[str, str]]]]]] = {
    "astronaut": ("test", "2001", [
        ("A smiling woman in an orange space suit poses in front of an American flag.", [
            ("An astronaut is posing for a photo.", "entailment"),
            ("The woman is about to fly to the moon.", "neutral"),
            ("A man in a suit sits at his desk.", "contradiction")]),
        ("An astronaut stands next to her helmet and a model of the space shuttle.", [
            ("There is a model of a spacecraft.", "entailment"),
            ("The astronaut is on her first mission.", "neutral"),
            ("The astronaut is floating in space.", "contradiction")]),
    ]),
    "coffee": ("test", "2002", [
        ("A red cup of coffee sits on a red saucer on a wooden table.", [
            ("There is a drink on the table.", "entailment"),
            ("The coffee is hot.", "neutral"),
            ("The cup is empty.", "contradiction")]),
        ("An espresso in a red cup with a spoon on the saucer.", [
            ("A spoon is next to the cup.", "entailment"),
            ("Someone ordered the espresso in a cafe.", "neutral"),
            ("A glass of orange juice is on the table.", "contradiction")]),
    ]),
    "chelsea": ("test", "2003", [
        ("A close-up of a tabby cat with green eyes looking at the camera.", [
            ("An animal is looking at the camera.", "entailment"),
            ("The cat is hungry.", "neutral"),
            ("A dog is sleeping on the couch.", "contradiction")]),
        ("A striped cat stares straight ahead.", [
            ("The cat has stripes.", "entailment"),
            ("The cat belongs to a family.", "neutral"),
            ("The cat is asleep with its eyes closed.", "contradiction")]),
    ]),
    "camera": ("test", "2004", [
        ("A man in a dark coat looks through a camera on a tripod in a field.", [
            ("A man is using a camera.", "entailment"),
            ("The man is a professional photographer.", "neutral"),
            ("The man is swimming in the sea.", "contradiction")]),
        ("A photographer sets up his camera on the grass.", [
            ("Someone is outside.", "entailment"),
            ("He is filming a documentary.", "neutral"),
            ("The photographer is indoors in a studio.", "contradiction")]),
    ]),
    "hubble": ("test", "2005", [
        ("Thousands of distant galaxies shine against the black sky.", [
            ("The picture shows space.", "entailment"),
            ("The picture was taken by a telescope in orbit.", "neutral"),
            ("The picture shows a sunny beach.", "contradiction")]),
        ("Colorful galaxies of many shapes are scattered across a dark background.", [
            ("There are many bright objects.", "entailment"),
            ("Some of the galaxies are billions of years old.", "neutral"),
            ("The background is white.", "contradiction")]),
    ]),
    "coins": ("dev", "1001", [
        ("Twenty-four old coins lie in rows on a dark surface.", [
            ("There are coins.", "entailment"),
            ("The coins are very valuable.", "neutral"),
            ("There are paper bills on the table.", "contradiction")]),
    ]),
    "ihc": ("dev", "1002", [
        ("A microscope image of tissue stained brown and blue.", [
            ("The image shows cells.", "entailment"),
            ("The tissue comes from a tumor.", "neutral"),
            ("The image shows a city street.", "contradiction")]),
    ]),
    "motorcycle": ("dev", "1003", [
        ("A red motorcycle is parked in a garage full of boxes.", [
            ("A motorcycle is indoors.", "entailment"),
            ("The motorcycle is being repaired.", "neutral"),
            ("A man rides a bicycle down the road.", "contradiction")]),
    ]),
    "rocket": ("train", "3001", [
        ("A white rocket stands on the launch pad between tall towers at night.", [
            ("A rocket is on the ground.", "entailment"),
            ("The rocket will launch tonight.", "neutral"),
            ("The rocket is flying through the clouds.", "contradiction")]),
        ("Bright lights surround a rocket on its launch pad.", [
            ("There are lights near the rocket.", "entailment"),
            ("The rocket carries a satellite.", "neutral"),
            ("It is a sunny afternoon.", "contradiction")]),
    ]),
    "horse": ("train", "3002", [
        ("The black silhouette of a horse on a white background.", [
            ("The picture shows a horse.", "entailment"),
            ("The horse is a racehorse.", "neutral"),
            ("Two cows are grazing in a field.", "contradiction")]),
    ]),
    "retina": ("train", "3003", [
        ("A photograph of the back of an eye with red blood vessels.", [
            ("The picture shows an eye.", "entailment"),
            ("The eye belongs to a patient with diabetes.", "neutral"),
            ("The picture shows a sunset over the ocean.", "contradiction")]),
    ]),
    "moon": ("train", "3004", [
        ("A gray surface covered with small craters.", [
            ("There are craters.", "entailment"),
            ("The surface is the moon.", "neutral"),
            ("The surface is covered with green grass.", "contradiction")]),
    ]),
    "hopper": ("train", "3005", [
        ("An old woman in a navy uniform and glasses poses in front of a flag.", [
            ("A woman is wearing glasses.", "entailment"),
            ("The woman is an admiral.", "neutral"),
            ("A young boy is playing football.", "contradiction")]),
        ("A naval officer in a dark uniform and cap smiles slightly.", [
            ("The officer is wearing a cap.", "entailment"),
            ("The officer is a computer scientist.", "neutral"),
            ("The officer is wearing a swimsuit.", "contradiction")]),
    ]),
}

SNLI_VE_SPLITS = ("train", "dev", "test")


def make_snli_ve(root: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write the SNLI-VE-layout set (see the module docstring); returns its manifest.

    Manifest: ``{"root", "pairs": {split: n (gold_label "-" lines not counted)},
    "skipped": {split: 1}, "images": {relpath: {"photo", "mode", "size"}}}``.
    """
    root = Path(root)
    manifest: dict[str, Any] = {"root": str(root), "pairs": {}, "skipped": {}, "images": {}}
    per_photo: dict[str, list[list[dict]]] = {s: [] for s in SNLI_VE_SPLITS}
    for name, (split, fid, captions) in SNLI_VE.items():
        per_photo[split].append([])
        rel = f"flickr30k_images/{fid}.jpg"
        size = write_photo(name, root / rel, None, large_side)
        manifest["images"][rel] = {"photo": name, "mode": PHOTOS[name].mode, "size": list(size)}
        for c, (premise, hyps) in enumerate(captions):
            for h, (hyp, label) in enumerate(hyps):
                # both id spellings found in the wild: original release / newer generator
                image_key = ({"Flikr30kID": f"{fid}.jpg"} if (c + h) % 2 == 0
                             else {"Flickr30K_ID": fid})
                per_photo[split][-1].append({**image_key, "sentence1": premise, "sentence2": hyp,
                                     "gold_label": label, "annotator_labels": [label],
                                     "captionID": f"{fid}.jpg#{c}",
                                     "pairID": f"{fid}.jpg#{c}r{h}{label[0]}"})
    # the i-th photo's pairs rotated by i: the first rows of a split mix the three labels
    lines = {split: round_robin([g[i % len(g):] + g[:i % len(g)] for i, g in enumerate(groups)])
             for split, groups in per_photo.items()}
    for split in SNLI_VE_SPLITS:
        manifest["pairs"][split] = len(lines[split])
        first = lines[split][0]  # one pair without an annotator majority: readers skip it
        lines[split].append({**first, "sentence2": "Something is in the picture.",
                             "gold_label": "-", "annotator_labels": ["neutral", "entailment"],
                             "pairID": first["pairID"].rsplit("r", 1)[0] + "r9x"})
        manifest["skipped"][split] = 1
        (root / f"snli_ve_{split}.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in lines[split]))
    return manifest


# ----------------------------------------------------------------------------------------- VCR
# Per photo: split, objects [(COCO name, [x1, y1, x2, y2] in upright pixels of the photo as
# shipped)], and questions (question, 4 answers, answer_label, 4 rationales, rationale_label).
# Tokens: a word, or a list of 0-based object indices ([0] → "the person" / "person 1";
# object i is number i + 1 everywhere, fgalign.data.vcr.object_number).
VCR: dict[str, tuple[str, str, list[tuple[str, list[float]]], list[tuple]]] = {
    "astronaut": ("val", "jpeg", [("person", [0, 20, 410, 512])], [
        (["What", "is", [0], "wearing", "?"],
         [[[0], "is", "wearing", "a", "space", "suit", "."],
          [[0], "is", "wearing", "a", "wedding", "dress", "."],
          [[0], "is", "wearing", "a", "swimsuit", "."],
          [[0], "is", "wearing", "pajamas", "."]], 0,
         [["The", "suit", "is", "orange", "and", "has", "a", "mission", "patch", "."],
          [[0], "is", "at", "the", "beach", "."],
          ["It", "is", "late", "at", "night", "."],
          [[0], "is", "getting", "married", "."]], 0),
        (["Why", "is", [0], "smiling", "?"],
         [[[0], "is", "posing", "for", "an", "official", "portrait", "."],
          [[0], "is", "in", "pain", "."],
          [[0], "just", "lost", "a", "game", "."],
          [[0], "is", "asleep", "."]], 0,
         [[[0], "is", "looking", "at", "the", "camera", "in", "front", "of", "a", "flag", "."],
          [[0], "is", "crying", "."],
          ["The", "room", "is", "empty", "."],
          [[0], "is", "running", "away", "."]], 0),
    ]),
    "coffee": ("val", "cmyk", [("cup", [170, 10, 420, 310]), ("spoon", [320, 220, 410, 335])], [
        (["What", "is", "in", [0], "?"],
         [["Soup", "is", "in", [0], "."],
          ["Coffee", "is", "in", [0], "."],
          ["Nothing", "is", "in", [0], "."],
          ["Flowers", "are", "in", [0], "."]], 1,
         [["The", "drink", "is", "dark", "brown", "with", "foam", "."],
          [[1], "is", "made", "of", "gold", "."],
          ["The", "table", "is", "wet", "."],
          [[0], "is", "upside", "down", "."]], 0),
        (["Why", "is", [1], "on", "the", "saucer", "?"],
         [[[1], "fell", "from", "the", "ceiling", "."],
          ["Someone", "will", "stir", "the", "coffee", "with", [1], "."],
          [[1], "is", "for", "eating", "soup", "."],
          ["It", "is", "a", "decoration", "on", "the", "wall", "."]], 1,
         [["A", "spoon", "is", "usually", "served", "with", "coffee", "."],
          [[0], "is", "empty", "."],
          ["The", "saucer", "is", "blue", "."],
          ["There", "is", "no", "table", "."]], 0),
    ]),
    "camera": ("val", "gray", [("person", [0, 60, 330, 512])], [
        (["What", "is", [0], "doing", "?"],
         [[[0], "is", "taking", "a", "picture", "with", "a", "camera", "."],
          [[0], "is", "cooking", "dinner", "."],
          [[0], "is", "swimming", "."],
          [[0], "is", "sleeping", "on", "the", "grass", "."]], 0,
         [[[0], "is", "looking", "through", "a", "camera", "on", "a", "tripod", "."],
          ["There", "is", "a", "stove", "next", "to", [0], "."],
          [[0], "is", "wet", "."],
          [[0], "is", "lying", "down", "."]], 0),
        (["Where", "is", [0], "standing", "?"],
         [[[0], "is", "standing", "in", "a", "kitchen", "."],
          [[0], "is", "standing", "on", "a", "roof", "."],
          [[0], "is", "standing", "in", "an", "open", "field", "."],
          [[0], "is", "standing", "in", "a", "boat", "."]], 2,
         [["There", "is", "grass", "and", "buildings", "far", "away", "."],
          ["There", "are", "pots", "and", "pans", "."],
          [[0], "is", "holding", "an", "oar", "."],
          ["The", "sky", "is", "below", [0], "."]], 0),
    ]),
    "motorcycle": ("val", "exif6", [("motorcycle", [90, 60, 700, 460])], [
        (["Where", "is", [0], "parked", "?"],
         [[[0], "is", "parked", "on", "a", "beach", "."],
          [[0], "is", "parked", "in", "a", "garage", "."],
          [[0], "is", "parked", "on", "a", "highway", "."],
          [[0], "is", "parked", "in", "a", "kitchen", "."]], 1,
         [["There", "are", "shelves", "with", "boxes", "and", "tools", "."],
          ["There", "is", "sand", "everywhere", "."],
          ["Cars", "drive", "past", [0], "."],
          ["There", "is", "a", "fridge", "."]], 0),
        (["Is", "anyone", "riding", [0], "?"],
         [["Yes", ",", "a", "woman", "is", "riding", "it", "."],
          ["Yes", ",", "two", "children", "are", "on", "it", "."],
          ["No", ",", [0], "is", "parked", "and", "nobody", "is", "on", "it", "."],
          ["Yes", ",", "a", "dog", "is", "driving", "it", "."]], 2,
         [["The", "seat", "of", [0], "is", "empty", "."],
          [[0], "is", "moving", "fast", "."],
          ["The", "children", "are", "laughing", "."],
          ["Dogs", "like", "motorcycles", "."]], 0),
    ]),
    "hopper": ("val", "large", [("person", [60, 20, 512, 600])], [
        (["What", "is", [0], "wearing", "?"],
         [[[0], "is", "wearing", "a", "navy", "uniform", "and", "a", "cap", "."],
          [[0], "is", "wearing", "a", "bathing", "suit", "."],
          [[0], "is", "wearing", "a", "clown", "costume", "."],
          [[0], "is", "wearing", "nothing", "on", "top", "."]], 0,
         [["There", "are", "ribbons", "and", "insignia", "on", [0], "'s", "jacket", "."],
          [[0], "is", "at", "the", "pool", "."],
          [[0], "has", "a", "red", "nose", "."],
          ["It", "is", "very", "hot", "."]], 0),
        (["Why", "is", "there", "a", "flag", "behind", [0], "?"],
         [["It", "is", "a", "birthday", "party", "."],
          [[0], "is", "posing", "for", "an", "official", "portrait", "."],
          [[0], "is", "at", "a", "football", "game", "."],
          ["The", "flag", "is", "for", "sale", "."]], 1,
         [[[0], "is", "in", "uniform", "and", "looks", "at", "the", "camera", "."],
          ["There", "is", "a", "cake", "."],
          ["There", "is", "a", "crowd", "cheering", "."],
          ["There", "is", "a", "price", "tag", "."]], 0),
    ]),
    "chelsea": ("train", "exif8", [("cat", [0, 0, 451, 300])], [
        (["What", "is", [0], "looking", "at", "?"],
         [[[0], "is", "looking", "at", "the", "camera", "."],
          [[0], "is", "looking", "at", "a", "mouse", "."],
          [[0], "is", "looking", "at", "the", "sky", "."],
          [[0], "is", "asleep", "."]], 0,
         [[[0], "stares", "straight", "ahead", "."],
          ["There", "is", "a", "mouse", "on", "the", "floor", "."],
          [[0], "is", "lying", "on", "its", "back", "."],
          [[0], "has", "its", "eyes", "closed", "."]], 0),
    ]),
    "horse": ("train", "gray", [("horse", [14, 7, 389, 314])], [
        (["What", "is", [0], "doing", "?"],
         [[[0], "is", "jumping", "a", "fence", "."],
          [[0], "is", "standing", "still", "."],
          [[0], "is", "eating", "hay", "."],
          [[0], "is", "lying", "down", "."]], 1,
         [["All", "four", "legs", "of", [0], "are", "on", "the", "ground", "."],
          ["There", "is", "a", "fence", "."],
          ["There", "is", "hay", "."],
          [[0], "is", "asleep", "."]], 0),
        (["Is", "anyone", "riding", [0], "?"],
         [["Yes", ",", "a", "jockey", "."],
          ["Yes", ",", "a", "child", "."],
          ["No", ",", "nobody", "is", "on", [0], "."],
          ["Yes", ",", "a", "cowboy", "."]], 2,
         [["The", "back", "of", [0], "is", "bare", "."],
          ["The", "jockey", "wears", "a", "helmet", "."],
          ["The", "child", "is", "small", "."],
          ["Cowboys", "ride", "horses", "."]], 0),
    ]),
}

VCR_MOVIE = "lsmdc_9000_Sample_Photographs"
VCR_SPLITS = ("train", "val")


def _vcr_meta(boxes: list[list[float]], names: list[str], size: tuple[int, int]) -> dict:
    return {"boxes": [[*b, 1.0] for b in boxes],
            "segms": [[[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]]] for b in boxes],
            "names": names, "width": size[0], "height": size[1]}


def make_vcr(root: str | Path, large_side: int = 4000) -> dict[str, Any]:
    """Write the VCR-layout set (see the module docstring); returns its manifest.

    Boxes of a ``large`` photo are scaled with it (they stay on the same pixels).
    Manifest: ``{"root", "questions": {split: n}, "images": {relpath: {"photo", "mode",
    "size"}}}``.
    """
    root = Path(root)
    manifest: dict[str, Any] = {"root": str(root), "questions": {s: 0 for s in VCR_SPLITS},
                                "images": {}}
    per_photo: dict[str, list[list[dict]]] = {s: [] for s in VCR_SPLITS}
    for name, (split, mode, objects, questions) in VCR.items():
        per_photo[split].append([])
        stem = f"{VCR_MOVIE}/{name}@0"
        shipped = load_photo(name).shape[:2][::-1]  # (W, H) before any scaling
        size = write_photo(name, root / "vcr1images" / f"{stem}.jpg", mode, large_side)
        sx, sy = size[0] / shipped[0], size[1] / shipped[1]
        boxes = [[round(x1 * sx, 1), round(y1 * sy, 1), round(x2 * sx, 1), round(y2 * sy, 1)]
                 for _, (x1, y1, x2, y2) in objects]
        names = [n for n, _ in objects]
        (root / "vcr1images" / f"{stem}.json").write_text(
            json.dumps(_vcr_meta(boxes, names, size)))
        manifest["images"][f"vcr1images/{stem}.jpg"] = {"photo": name, "mode": mode,
                                                        "size": list(size)}
        for q, (question, answers, a_label, rationales, r_label) in enumerate(questions):
            n = sum(len(g) for g in per_photo[split])
            per_photo[split][-1].append({
                "movie": VCR_MOVIE, "objects": names, "interesting_scores": [0],
                "answer_likelihood": "likely", "img_fn": f"{stem}.jpg",
                "metadata_fn": f"{stem}.json",
                "question_orig": " ".join(t if isinstance(t, str) else " and ".join(
                    str(i + 1) for i in t) for t in question),  # VCR's 1-based numbers
                "question": question, "answer_choices": answers, "answer_label": a_label,
                "rationale_choices": rationales, "rationale_label": r_label,
                "img_id": f"{split}-{n}", "question_number": q, "annot_id": f"{split}-{n}",
                "match_fold": f"{split}-0", "match_index": n})
    lines = {split: round_robin(groups) for split, groups in per_photo.items()}
    for split in VCR_SPLITS:
        manifest["questions"][split] = len(lines[split])
        (root / f"{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines[split]))
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
