"""World layout, determinism, splits, ensure_world and the ``fgalign synth`` command."""
from __future__ import annotations

import argparse
import hashlib
import json

import pytest
from PIL import Image
from synth_checks import SPLITS

from fgalign.config import SynthCfg
from fgalign.data.synth import ensure_world, generate_world, split_sizes
from fgalign.data.synth.scene import COLORS, MAX_OBJECTS, MIN_OBJECTS, MIN_VISIBLE, SHAPES


def tree_hash(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate_world(tmp_path / "a", seed=5, images=9, image_size=64, progress=False)
    b = generate_world(tmp_path / "b", seed=5, images=9, image_size=64, progress=False)
    generate_world(tmp_path / "c", seed=6, images=9, image_size=64, progress=False)
    ha, hb, hc = (tree_hash(tmp_path / k) for k in "abc")
    assert a == b and ha == hb
    assert len(ha) == 9 * 2 + 3 * 6 + 1  # png + metadata per image, 6 files per split, world.json
    assert set(ha) == set(hc) and ha != hc


def test_split_sizes():
    assert split_sizes(600) == {"train": 420, "val": 60, "test": 120}
    assert split_sizes(3) == {"train": 1, "val": 1, "test": 1}
    with pytest.raises(ValueError, match="at least 3"):
        split_sizes(2)


def test_layout_ids_and_images(world_dir, scenes):
    world = json.loads((world_dir / "world.json").read_text())
    assert world["seed"] == 3 and world["images"] == 60 and world["image_size"] == 96
    assert {s: world["counts"][s]["images"] for s in SPLITS} == split_sizes(60)
    assert len(scenes) == 60  # ids unique across splits
    for split in SPLITS:
        for s in json.loads((world_dir / f"scenes_{split}.json").read_text()):
            assert s["file"] == f"COCO_{split}_{s['image_id']:012d}.png"
            with Image.open(world_dir / "images" / s["file"]) as im:
                assert im.size == (96, 96) and im.mode == "RGB"
            assert MIN_OBJECTS <= len(s["objects"]) <= MAX_OBJECTS
            for o in s["objects"]:
                assert o["shape"] in SHAPES and o["color"] in COLORS
                assert o["visible"] >= MIN_VISIBLE
                x1, y1, x2, y2 = o["box"]
                assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96


def test_rendered_colours_where_objects_are(world_dir, scenes):
    """The pixel at each visible object's centre has (nearly) that object's colour."""
    checked = 0
    for s in list(scenes.values())[:20]:
        with Image.open(world_dir / "images" / s["file"]) as im:
            px = im.load()
            for k, o in enumerate(s["objects"]):
                later = s["objects"][k + 1:]
                cx, cy = (round(v) for v in o["center"])
                if o["shape"] in ("star", "cross") or any(
                        abs(p["center"][0] - cx) < p["radius"] + 2 and
                        abs(p["center"][1] - cy) < p["radius"] + 2 for p in later):
                    continue  # thin centre or possibly covered: skip
                assert max(abs(a - b) for a, b in zip(px[cx, cy], COLORS[o["color"]])) <= 12
                checked += 1
    assert checked >= 20


def test_ensure_world(tmp_path):
    root = tmp_path / "w"
    with pytest.raises(FileNotFoundError, match="generate"):
        ensure_world(root, SynthCfg(generate=False))
    cfg = SynthCfg(generate=True, seed=1, images=6, image_size=48)
    world = ensure_world(root, cfg)
    assert (root / "world.json").exists() and world["images"] == 6
    assert not list(tmp_path.glob(".w.tmp-*"))
    assert ensure_world(root, cfg) == world  # second call reads, does not regenerate
    with pytest.raises(ValueError, match="other settings|made with"):
        ensure_world(root, SynthCfg(generate=True, seed=2, images=6, image_size=48))
    (tmp_path / "real").mkdir()
    with pytest.raises(FileNotFoundError, match="not a synthetic world"):
        ensure_world(tmp_path / "real", cfg)


def test_cli_synth(tmp_path, capsys):
    from fgalign.commands import synth

    parser = argparse.ArgumentParser()
    synth.add_parser(parser.add_subparsers())
    args = parser.parse_args(["synth", "--out", str(tmp_path / "w"), "--seed", "2",
                              "--images", "5", "--image-size", "48", "--no-progress"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "w" / "world.json").read_text())
    assert printed["counts"]["test"]["images"] == 1
