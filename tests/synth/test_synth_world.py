"""World layout, determinism, splits, ensure_world and the ``fgalign synth`` command."""
from __future__ import annotations

import argparse
import hashlib
import json

import pytest
from PIL import Image
from synth_checks import SPLITS

from fgalign.config import SynthCfg
from fgalign.data.synth import (
    FORMAT_VERSION,
    WorldFormatError,
    ensure_world,
    generate_world,
    resolve_world,
    split_sizes,
)
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
    assert len(ha) == 9 * 2 + 3 * 7 + 1  # png + metadata per image, 7 files per split, world.json
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
    # generation settings only matter when generating: an existing world is read as it is
    assert ensure_world(root, SynthCfg(generate=True, seed=2, images=9)) == world
    (tmp_path / "real").mkdir()
    assert ensure_world(tmp_path / "real", cfg) is None  # a real dataset: no manifest


def test_manifest_layout_identity_and_fingerprint(tmp_path):
    from fgalign.data.synth.manifest import fingerprint, identity

    world = generate_world(tmp_path / "w", seed=4, images=6, image_size=48, progress=False)
    assert world["layout"] == {"vqa_images_dir": "images",
                               "vqa_image_template": "COCO_{split}_{image_id:012d}.png",
                               "snli_ve_images_dir": "images", "vcr_images_dir": "images"}
    assert identity(world) == {"format_version": FORMAT_VERSION, "seed": 4, "images": 6,
                               "image_size": 48, "fingerprint": fingerprint(tmp_path / "w")}
    assert len(world["fingerprint"]) == 64
    (tmp_path / "w" / "val.jsonl").write_text("")  # any content change changes it
    assert fingerprint(tmp_path / "w") != world["fingerprint"]


def test_old_format_world_is_refused_with_rebuild_command(tmp_path):
    from fgalign.tasks import read_task

    root = tmp_path / "w"
    generate_world(root, seed=4, images=6, image_size=48, progress=False)
    meta = json.loads((root / "world.json").read_text())
    (root / "world.json").write_text(json.dumps({**meta, "format_version": 1}))
    want = rf"older world format \(1\).*fgalign synth --out {root} --seed 4 --images 6 " \
           "--image-size 48 --replace"
    with pytest.raises(WorldFormatError, match=want):
        ensure_world(root, SynthCfg(generate=True))
    with pytest.raises(WorldFormatError, match=want):
        read_task("vqa", root, "test")
    with pytest.raises(WorldFormatError, match=r"another world format \(99\)"):
        (root / "world.json").write_text(json.dumps({**meta, "format_version": 99}))
        ensure_world(root, SynthCfg())


def test_resolve_world_layout_identity_in_hash(tmp_path):
    """A world made with seed 5 is read by a config asking for seed 0 (demo layout or not);
    the resolved config carries the world's identity, so the hash follows the world."""
    from fgalign.config import config_hash
    from fgalign.load import load_config

    a, b = tmp_path / "a", tmp_path / "b"
    generate_world(a, seed=5, images=6, image_size=48, progress=False)
    generate_world(b, seed=6, images=6, image_size=48, progress=False)
    base = ["data.synth.generate=true", "data.synth.seed=0", "data.synth.images=1500"]
    ca = resolve_world(load_config(None, base + [f"data.root={a}"]))
    cb = resolve_world(load_config(None, base + [f"data.root={b}"]))
    assert ca.data.world["seed"] == 5 and ca.data.synth.seed == 5 and ca.data.synth.images == 6
    assert ca.data.vqa_images_dir == "images" and ca.data.vqa_image_template.endswith(".png")
    ca_b = resolve_world(load_config(None, base + [f"data.root={a}"]))
    assert config_hash(ca) == config_hash(ca_b) != config_hash(cb)
    real = tmp_path / "real"
    real.mkdir()
    cr = resolve_world(load_config(None, [f"data.root={real}"]))
    assert cr.data.world is None and cr.data.vqa_images_dir == "{split}"  # config's layout


def test_data_stats_reads_any_world_without_flags(tmp_path, capsys):
    from fgalign.cli import main

    root = tmp_path / "w"
    assert main(["synth", "--out", str(root), "--seed", "5", "--images", "12",
                 "--image-size", "48", "--no-progress"]) == 0
    capsys.readouterr()
    for task in ("vqa", "snli_ve", "vcr"):
        assert main(["data", "stats", "--task", task, "--root", str(root), "--split", "test",
                     "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["rows"] > 0 and report["missing_images"] == 0 and report["errors"] == 0
    # a second synth into the same root refuses without --replace, and replaces with it
    assert main(["synth", "--out", str(root), "--images", "6", "--no-progress"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["synth", "--out", str(root), "--images", "6", "--image-size", "48",
                 "--no-progress", "--replace"]) == 0
    assert json.loads((root / "world.json").read_text())["images"] == 6


def test_contrast_table_balanced(world_dir):
    """Every task has ≥ MIN_SHARE % of its contrasts in each family (the 60-image test world;
    the demo world's table is in docs/results.md), and the per-instance files add up to it."""
    from fgalign.data.synth.contrast import FAMILIES, MIN_SHARE, table

    world = json.loads((world_dir / "world.json").read_text())
    recs = [json.loads(x) for s in SPLITS
            for x in (world_dir / f"contrasts_{s}.jsonl").read_text().splitlines()]
    assert table(recs) == world["contrast"]["all"]
    for task, t in world["contrast"]["all"].items():
        assert set(t["share"]) == set(FAMILIES)
        assert min(t["share"].values()) >= MIN_SHARE, (task, t["share"])
    counts = world["counts"]
    assert world["contrast"]["all"]["vqa"]["n"] == sum(c["vqa"] for c in counts.values())
    assert world["contrast"]["all"]["snli_ve"]["n"] == sum(c["snli_ve"] for c in counts.values()) // 3
    assert world["contrast"]["all"]["vcr_q2a"]["n"] == 3 * sum(c["vcr"] for c in counts.values())


def test_cli_synth(tmp_path, capsys):
    from fgalign.commands import synth

    parser = argparse.ArgumentParser()
    synth.add_parser(parser.add_subparsers())
    args = parser.parse_args(["synth", "--out", str(tmp_path / "w"), "--seed", "2",
                              "--images", "5", "--image-size", "48", "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    head, table = out.split("\ncontrast table", 1)
    printed = json.loads(head)
    assert "| snli_ve |" in table and "| vcr_qa2r |" in table
    assert printed == json.loads((tmp_path / "w" / "world.json").read_text())
    assert printed["counts"]["test"]["images"] == 1
