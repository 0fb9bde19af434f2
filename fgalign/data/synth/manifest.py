"""A synthetic world's manifest (``world.json``): its own layout and identity, read by every command.

A root that holds ``world.json`` is a world written by ``fgalign synth``; the manifest says

    layout     where the readers find images: the ``DataCfg`` path keys (``LAYOUT_KEYS``), e.g.
               ``{"vqa_images_dir": "images", "vqa_image_template": "COCO_{split}_…png", …}``;
    identity   ``format_version``, ``seed``, ``images``, ``image_size`` and ``fingerprint`` (the
               sha256 of every file of the world but world.json, in sorted path order).

``world_data_cfg(data_cfg, root)`` gives the data config the readers must use for ``root``: the
world's layout when the root holds a manifest, the config's own layout otherwise (real datasets
have none). A manifest of another format version is refused (``WorldFormatError``) with the
command that rebuilds it. This module is light (json, hashlib): the readers import it.
"""
from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

from fgalign.data.formats import vqav2
from fgalign.errors import InputError

FORMAT_VERSION = 2  # bump when the generated content changes for the same seed
# 1: issue-12 era generators; 2: contrast-balanced tasks (issue 14), layout + identity manifest
MANIFEST = "world.json"
IMAGES_DIR = "images"
IMAGE_TEMPLATE = vqav2.image_template("png")  # COCO_{split}_{image_id:012d}.png
LAYOUT_KEYS = ("vqa_images_dir", "vqa_image_template", "snli_ve_images_dir", "vcr_images_dir")
LAYOUT = {"vqa_images_dir": IMAGES_DIR, "vqa_image_template": IMAGE_TEMPLATE,
          "snli_ve_images_dir": IMAGES_DIR, "vcr_images_dir": IMAGES_DIR}
IDENTITY_KEYS = ("format_version", "seed", "images", "image_size", "fingerprint")


class WorldFormatError(InputError):
    """A root's world.json was written by another world format version (or is unreadable)."""


def rebuild_command(root: str | Path, world: dict[str, Any]) -> str:
    """The command that regenerates ``root`` in the current format with the same settings."""
    args = ["fgalign", "synth", "--out", str(root), "--seed", str(world.get("seed", 0)),
            "--images", str(world.get("images", 600)),
            "--image-size", str(world.get("image_size", 128)), "--replace"]
    return shlex.join(args)


def read_manifest(root: str | Path | None) -> dict[str, Any] | None:
    """``world.json`` of ``root`` checked against ``FORMAT_VERSION``; None when there is none.

    Raises:
        WorldFormatError: the manifest is not JSON, or its ``format_version`` is not the current
            one (the message names both versions and the command that rebuilds the root).
    """
    if root is None:
        return None
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        world = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WorldFormatError(f"{path} is not valid JSON ({e}); rebuild the world with "
                               f"`fgalign synth --out {root} --replace`") from None
    got = world.get("format_version") if isinstance(world, dict) else None
    if got != FORMAT_VERSION:
        older = isinstance(got, int) and got < FORMAT_VERSION
        why = ("an older" if older else "another") + f" world format ({got})"
        raise WorldFormatError(
            f"{root} was written by {why}; this fgalign reads format {FORMAT_VERSION}. "
            f"Rebuild it with: {rebuild_command(root, world if isinstance(world, dict) else {})}")
    return world


def identity(world: dict[str, Any]) -> dict[str, Any]:
    """The identity keys of a manifest (what a run records and hashes)."""
    return {k: world.get(k) for k in IDENTITY_KEYS}


def layout(world: dict[str, Any]) -> dict[str, str]:
    """The DataCfg path keys of a manifest (``LAYOUT`` for a manifest that predates them)."""
    return {k: world.get("layout", {}).get(k, LAYOUT[k]) for k in LAYOUT_KEYS}


def images_dir(root: str | Path) -> str:
    """Folder (relative to ``root``) of the world's scene images and per-image metadata: the
    one its world.json records, else the synthetic layout's default (``images``: a world
    written by hand, e.g. in tests).

    Raises:
        WorldFormatError: see ``read_manifest``.
    """
    world = read_manifest(root)
    return IMAGES_DIR if world is None else world.get("images_dir", IMAGES_DIR)


def fingerprint(root: str | Path) -> str:
    """sha256 over (relative path, bytes) of every file under ``root`` except world.json."""
    root = Path(root)
    digest = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file() and q.name != MANIFEST):
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(p.read_bytes()).digest())
    return digest.hexdigest()


def world_data_cfg(data_cfg, root: str | Path | None = None):
    """``data_cfg`` with the layout and identity of the world at ``root`` (default data.root).

    Args:
        data_cfg: a ``fgalign.config.DataCfg``.
        root: dataset root; ``data_cfg.root`` when None.

    Returns:
        A copy with ``LAYOUT_KEYS`` from the manifest, ``world`` = its identity and ``synth``'s
        seed / images / image_size = the world's (they describe what is there, so the config
        hash and the saved config say which world a run read); ``data_cfg`` itself, with
        ``world`` = None, when the root holds no manifest (a real dataset).

    Raises:
        WorldFormatError: see ``read_manifest``.
    """
    root = data_cfg.root if root is None else root
    world = read_manifest(root)
    if world is None:
        return data_cfg if data_cfg.world is None else data_cfg.model_copy(update={"world": None})
    synth = data_cfg.synth.model_copy(update={k: world[k] for k in ("seed", "images", "image_size")
                                              if k in world})
    return data_cfg.model_copy(update={**layout(world), "world": identity(world),
                                       "synth": synth})
