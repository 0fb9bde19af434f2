"""Generate the synthetic diagnostic world in the official VQAv2 / SNLI-VE / VCR layouts.

Layout of a world root ``DIR`` (splits train / val / test = 70 / 10 / 20 % of the images)::

    images/COCO_{split}_{image_id:012d}.png      one scene per image (ids unique over splits)
    images/COCO_{split}_{image_id:012d}.json     VCR metadata of that image
    v2_OpenEnded_mscoco_{split}_questions.json   VQAv2 questions
    v2_mscoco_{split}_annotations.json           VQAv2 annotations (10 answers each)
    snli_ve_{split}.jsonl                        SNLI-VE pairs (Flikr30kID = image file name)
    {split}.jsonl                                VCR annotations
    captions_{split}.jsonl                       caption corpus (scene + object-crop captions)
    scenes_{split}.json                          scene graphs (ground truth for probes)
    world.json                                   seed, sizes, counts, answer-prior baselines

Every random choice comes from ``np.random.default_rng([seed, image_id, stream])``, files are
written with sorted keys and no timestamps, so the same seed gives byte-identical files.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fgalign.data.synth.captions import caption_rows
from fgalign.data.synth.priors import label_prior, vcr_prior, vqa_prior
from fgalign.data.synth.questions.snli_ve import make_snli_ve
from fgalign.data.synth.questions.vcr import make_vcr, metadata
from fgalign.data.synth.questions.vqa import AnswerBalancer, make_vqa
from fgalign.data.synth.render import png_bytes, render_scene, visible_fractions
from fgalign.data.synth.scene import sample_scene

SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}
IMAGE_TEMPLATE = "COCO_{split}_{image_id:012d}.png"
# DataCfg values that point the readers at a synthetic world (configs/demo.yaml sets them too)
DATA_PATHS = {"vqa_images_dir": "images", "vqa_image_template": IMAGE_TEMPLATE,
              "snli_ve_images_dir": "images", "vcr_images_dir": "images"}
FORMAT_VERSION = 1  # bump when the generated content changes for the same seed


def split_sizes(images: int) -> dict[str, int]:
    """Images per split (70 / 10 / 20 %, every split gets at least one image when N ≥ 3)."""
    if images < 3:
        raise ValueError(f"a world needs at least 3 images (one per split), got {images}")
    val = max(1, round(images * SPLITS["val"]))
    test = max(1, round(images * SPLITS["test"]))
    return {"train": images - val - test, "val": val, "test": test}


def _dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, sort_keys=True) + "\n")


def _dump_lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def _write_split(out: Path, split: str, scenes: list[dict], seed: int) -> dict:
    """All task files of one split; returns its rows for the prior baselines and counts."""
    balancer, vcr_labels = AnswerBalancer(), ([0] * 4, [0] * 4)
    questions, annotations, snli, vcr, captions = [], [], [], [], []
    for scene in scenes:
        rng = np.random.default_rng([seed, scene["image_id"], 1])
        q, a = make_vqa(scene, rng, balancer)
        questions += q
        annotations += a
        snli += make_snli_ve(scene, rng)
        vcr += make_vcr(scene, rng, split, start=len(vcr), label_counts=vcr_labels)
        captions += caption_rows(scene, rng)
        _dump(out / "images" / scene["file"].replace(".png", ".json"), metadata(scene))
    head = {"info": {"description": "fgalign synthetic world (VQAv2 layout)", "version": "2.0"},
            "license": {}, "data_type": "mscoco", "data_subtype": split}
    _dump(out / f"v2_OpenEnded_mscoco_{split}_questions.json",
          {**head, "task_type": "Open-Ended", "questions": questions})
    _dump(out / f"v2_mscoco_{split}_annotations.json", {**head, "annotations": annotations})
    _dump_lines(out / f"snli_ve_{split}.jsonl", snli)
    _dump_lines(out / f"{split}.jsonl", vcr)
    _dump_lines(out / f"captions_{split}.jsonl", captions)
    _dump(out / f"scenes_{split}.json", scenes)
    return {"vqa": annotations, "snli_ve": snli, "vcr": vcr, "captions": captions}


def generate_world(out: str | Path, seed: int = 0, images: int = 600, image_size: int = 128,
                   progress: bool = True) -> dict:
    """Render ``images`` scenes and write every dataset file under ``out``.

    Args:
        out: world root (created; existing files of the same names are overwritten).
        seed: world seed; the same seed gives byte-identical files.
        images: number of scenes over all splits.
        image_size: square image side in pixels.
        progress: show a progress bar while rendering.

    Returns:
        The content of ``world.json`` (seed, sizes, counts per split and task, priors).
    """
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    sizes = split_sizes(images)
    scenes: dict[str, list[dict]] = {s: [] for s in sizes}
    order = [s for s, n in sizes.items() for _ in range(n)]
    for image_id, split in enumerate(tqdm(order, desc="synth: render", unit="img",
                                          disable=not progress), start=1):
        rng = np.random.default_rng([seed, image_id, 0])
        file = IMAGE_TEMPLATE.format(split=split, image_id=image_id)
        scene = sample_scene(rng, image_id, file, image_size, visible_fractions)
        (out / "images" / file).write_bytes(png_bytes(render_scene(scene, rng)))
        scenes[split].append(scene)
    rows = {s: _write_split(out, s, scenes[s], seed) for s in sizes}
    counts = {s: {"images": len(scenes[s]), "vqa": len(rows[s]["vqa"]),
                  "snli_ve": len(rows[s]["snli_ve"]), "vcr": len(rows[s]["vcr"]),
                  "captions": len(rows[s]["captions"])} for s in sizes}
    train, test = rows["train"], rows["test"]
    world = {
        "format_version": FORMAT_VERSION, "seed": seed, "images": images,
        "image_size": image_size, "image_template": IMAGE_TEMPLATE, "images_dir": "images",
        "counts": counts,
        "prior": {"split": "test", "fit_split": "train",
                  "vqa": vqa_prior(train["vqa"], test["vqa"]),
                  "snli_ve": label_prior([r["gold_label"] for r in train["snli_ve"]],
                                         [r["gold_label"] for r in test["snli_ve"]]),
                  "vcr": vcr_prior(train["vcr"], test["vcr"])},
    }
    _dump(out / "world.json", world)
    return world


def ensure_world(root: str | Path, synth_cfg) -> dict:
    """Return ``world.json`` of ``root``, generating the world first when it is missing.

    Args:
        root: dataset root (``data.root``).
        synth_cfg: ``fgalign.config.SynthCfg`` (generate, seed, images, image_size).

    Raises:
        FileNotFoundError: ``root`` is missing and ``synth_cfg.generate`` is off, or it exists
            but is not a synthetic world (no ``world.json``) — it is never overwritten.
        ValueError: ``root`` holds a world made with other settings than ``synth_cfg``.
    """
    root = Path(root)
    want = {"seed": synth_cfg.seed, "images": synth_cfg.images,
            "image_size": synth_cfg.image_size, "format_version": FORMAT_VERSION}
    if (root / "world.json").exists():
        world = json.loads((root / "world.json").read_text())
        got = {k: world.get(k) for k in want}
        if synth_cfg.generate and got != want:
            raise ValueError(f"{root} holds a synthetic world made with {got}, but data.synth "
                             f"asks for {want}; delete {root} or change data.root")
        return world
    if root.exists():
        raise FileNotFoundError(f"{root} exists but is not a synthetic world (no world.json); "
                                "not overwriting it")
    if not synth_cfg.generate:
        raise FileNotFoundError(f"data.root {root} does not exist; set data.synth.generate=true "
                                f"or run: fgalign synth --out {root}")
    tmp = root.with_name(f".{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    world = generate_world(tmp, seed=synth_cfg.seed, images=synth_cfg.images,
                           image_size=synth_cfg.image_size)
    tmp.rename(root)  # atomic: a crash never leaves a half-written root behind
    return world
