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
    contrasts_{split}.jsonl                      per contrast: task, instance id, family
    world.json                                   manifest: layout, identity (format version,
                                                 seed, size, fingerprint), counts, priors,
                                                 contrast table (fgalign.data.synth.contrast)

The three task layouts are written by ``fgalign.data.formats`` (``jsonio.SORTED`` style).
Every random choice comes from ``np.random.default_rng([seed, image_id, stream])``, files are
written with sorted keys and no timestamps, so the same seed gives byte-identical files.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fgalign.data.formats import snli_ve as snli_ve_format
from fgalign.data.formats import vcr as vcr_format
from fgalign.data.formats import vqav2
from fgalign.data.formats.jsonio import SORTED, write_json, write_jsonl
from fgalign.data.synth.captions import caption_rows
from fgalign.data.synth.contrast import FAMILIES, MIN_SHARE, snli_ve_family, table, vqa_family
from fgalign.data.synth.manifest import (
    FORMAT_VERSION,
    IMAGE_TEMPLATE,
    IMAGES_DIR,
    LAYOUT,
    MANIFEST,
    fingerprint,
    read_manifest,
    world_data_cfg,
)
from fgalign.data.synth.priors import label_prior, vcr_prior, vqa_prior
from fgalign.data.synth.questions.snli_ve import FamilyBalancer, make_snli_ve
from fgalign.data.synth.questions.vcr import VCRBalancer, make_vcr, metadata
from fgalign.data.synth.questions.vqa import AnswerBalancer, make_vqa
from fgalign.data.synth.render import png_bytes, render_scene, visible_fractions
from fgalign.data.synth.scene import sample_scene

SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}
# DataCfg values that point the readers at a synthetic world; world.json records them
# ("layout") and every command reads them from there (manifest.world_data_cfg)
DATA_PATHS = dict(LAYOUT)
CONTRAST_UNIT = {"vqa": "question", "snli_ve": "contradiction pair",
                 "vcr_q2a": "wrong answer choice", "vcr_qa2r": "wrong rationale choice"}


def split_sizes(images: int) -> dict[str, int]:
    """Images per split (70 / 10 / 20 %, every split gets at least one image when N ≥ 3)."""
    if images < 3:
        raise ValueError(f"a world needs at least 3 images (one per split), got {images}")
    val = max(1, round(images * SPLITS["val"]))
    test = max(1, round(images * SPLITS["test"]))
    return {"train": images - val - test, "val": val, "test": test}


def _dump(path: Path, obj) -> None:
    write_json(path, obj, SORTED)


def _dump_lines(path: Path, rows: list[dict]) -> None:
    write_jsonl(path, rows, SORTED)


def _write_split(out: Path, split: str, scenes: list[dict], seed: int) -> dict:
    """All task files of one split; returns its rows for the prior baselines and counts."""
    balancer, vcr_bal = AnswerBalancer(), VCRBalancer()
    snli_bal = FamilyBalancer()
    questions, annotations, snli, vcr, captions = [], [], [], [], []
    contrasts: list[dict] = []
    for scene in scenes:
        rng = np.random.default_rng([seed, scene["image_id"], 1])
        q, a = make_vqa(scene, rng, balancer)
        questions += q
        annotations += a
        contrasts += [{"task": "vqa", "id": x["question_id"], "family": vqa_family(x["question"])}
                      for x in q]
        pairs = make_snli_ve(scene, rng, snli_bal)
        snli += pairs
        contrasts += [{"task": "snli_ve", "id": r["pairID"],
                       "family": snli_ve_family(r["sentence2"], scene)}
                      for r in pairs if r["gold_label"] == "contradiction"]
        vcr += make_vcr(scene, rng, split, start=len(vcr), balancer=vcr_bal, contrasts=contrasts)
        captions += caption_rows(scene, rng)
        vcr_format.write_metadata(out / IMAGES_DIR, scene["file"].replace(".png", ".json"),
                                  metadata(scene), SORTED)
    vqav2.write_split(out, split, questions, annotations,
                      description="fgalign synthetic world (VQAv2 layout)", style=SORTED)
    snli_ve_format.write_split(out, split, snli, SORTED)
    vcr_format.write_split(out, split, vcr, SORTED)
    _dump_lines(out / f"captions_{split}.jsonl", captions)
    _dump(out / f"scenes_{split}.json", scenes)
    _dump_lines(out / f"contrasts_{split}.jsonl", contrasts)
    return {"vqa": annotations, "snli_ve": snli, "vcr": vcr, "captions": captions,
            "contrasts": contrasts}


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
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
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
        "image_size": image_size, "layout": dict(LAYOUT), "images_dir": IMAGES_DIR, "fingerprint": fingerprint(out),
        "counts": counts,
        "contrast": {"families": list(FAMILIES), "min_share": MIN_SHARE,
                     "unit": CONTRAST_UNIT, "all": table(
                         [r for s in sizes for r in rows[s]["contrasts"]]),
                     **{s: table(rows[s]["contrasts"]) for s in sizes}},
        "prior": {"split": "test", "fit_split": "train",
                  "vqa": vqa_prior(train["vqa"], test["vqa"]),
                  "snli_ve": label_prior([r["gold_label"] for r in train["snli_ve"]],
                                         [r["gold_label"] for r in test["snli_ve"]]),
                  "vcr": vcr_prior(train["vcr"], test["vcr"])},
    }
    _dump(out / "world.json", world)
    return world


def ensure_world(root: str | Path, synth_cfg) -> dict | None:
    """``world.json`` of ``root``; the world is generated first only when ``root`` is missing.

    A root that holds a world is read as it is, whatever ``synth_cfg`` says (its values only
    matter when generating); a root without ``world.json`` is a real dataset (None).

    Args:
        root: dataset root (``data.root``).
        synth_cfg: ``fgalign.config.SynthCfg`` (generate, seed, images, image_size).

    Returns:
        The manifest, or None for an existing root without one.

    Raises:
        FileNotFoundError: ``root`` is missing and ``synth_cfg.generate`` is off.
        WorldFormatError: ``root`` holds a world of another format version (the message gives
            the command that rebuilds it).
    """
    root = Path(root)
    if root.exists():
        return read_manifest(root)
    if not synth_cfg.generate:
        raise FileNotFoundError(f"data.root {root} does not exist; set data.synth.generate=true "
                                f"or run: fgalign synth --out {root}")
    return write_world(root, seed=synth_cfg.seed, images=synth_cfg.images,
                       image_size=synth_cfg.image_size)


def write_world(root: str | Path, seed: int, images: int, image_size: int, replace: bool = False,
                progress: bool = True) -> dict:
    """Generate a world into a temporary sibling folder and move it to ``root`` atomically.

    Args:
        root: world root; must not exist unless ``replace`` (then it must hold a world.json
            or be empty: a folder of other files is never deleted).
        seed, images, image_size, progress: as ``generate_world``.
        replace: replace an existing world at ``root``.

    Raises:
        FileExistsError: ``root`` exists and ``replace`` is off, or it holds files but no
            world.json.
    """
    root = Path(root)
    if root.exists():
        if not replace:
            raise FileExistsError(f"{root} exists; pass --replace to regenerate the world there")
        if not (root / MANIFEST).is_file() and any(root.iterdir()):
            raise FileExistsError(f"{root} holds files but no {MANIFEST}: not a synthetic world, "
                                  "not replacing it")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(f".{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    world = generate_world(tmp, seed=seed, images=images, image_size=image_size,
                           progress=progress)
    if root.exists():
        old = root.with_name(f".{root.name}.old-{os.getpid()}")
        root.rename(old)
        tmp.rename(root)
        shutil.rmtree(old)
    else:
        tmp.rename(root)  # atomic: a crash never leaves a half-written root behind
    return world


def resolve_world(cfg):
    """``cfg`` with ``data`` resolved against its root: generate when missing, then read the
    world's layout and identity (``manifest.world_data_cfg``). Every command calls this before
    it hashes the config or reads a split.

    Args:
        cfg: ``fgalign.config.Config``.

    Returns:
        A copy of ``cfg`` (``cfg`` itself when ``data.root`` is None).

    Raises:
        FileNotFoundError, WorldFormatError: see ``ensure_world``.
    """
    root = cfg.data.root
    if root is None:
        return cfg
    if not Path(root).exists() and cfg.data.synth.generate:
        ensure_world(root, cfg.data.synth)
    return cfg.model_copy(update={"data": world_data_cfg(cfg.data, root)})
