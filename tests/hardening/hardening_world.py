"""A tiny synthetic world with every kind of bad input planted in its test split.

``damage_world(root)`` edits a world written by ``fgalign synth`` in place and returns what it
planted: which test images are broken and how, and which annotation records are bad. Each
test image is shared by several rows of every task, so one broken file reaches all three.

    corrupt     random bytes under a .png name          → "<stage>:corrupt"
    truncated   the first half of a real PNG            → "<stage>:truncated"
    missing     the file deleted                        → "<stage>:missing"
    empty       a zero-byte file                        → "<stage>:empty_file"
    bomb        a PNG header claiming 30000 × 30000 px  → "<stage>:decompression_bomb"
                (over 2× Pillow's MAX_IMAGE_PIXELS; nothing that large is allocated)
    blank       one flat colour: no region proposals    → no error, global score only
plus malformed JSON lines (SNLI-VE, VCR), a blank question and hypothesis, and VCR
references to objects that do not exist.
"""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

BROKEN = ("corrupt", "truncated", "missing", "empty", "bomb")
REASON = {"corrupt": "corrupt", "truncated": "truncated", "missing": "missing",
          "empty": "empty_file", "bomb": "decompression_bomb"}


def png_header(width: int, height: int) -> bytes:
    """A PNG signature + IHDR chunk (valid CRC) + IEND: opens as a width × height image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _test_images(root: Path) -> list[Path]:
    world = json.loads((root / "world.json").read_text())
    return sorted((root / world["images_dir"]).glob("COCO_test_*.png"))


def break_image(path: Path, how: str) -> None:
    """Damage one image file in place (see the module docstring)."""
    data = path.read_bytes()
    if how == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "missing":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bomb":
        path.write_bytes(png_header(30000, 30000))
    elif how == "blank":
        with Image.open(path) as im:
            size = im.size
        Image.new("RGB", size, (128, 128, 128)).save(path)
    else:
        raise ValueError(how)


def _edit_jsonl(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def damage_world(root: Path) -> dict:
    """Plant every kind of bad input in the test split; returns what was planted.

    Returns:
        ``{"images": {file name: how}, "records": {task: {uid or line tag: reason}}}``.
    """
    images = _test_images(root)
    kinds = BROKEN + ("blank",)
    if len(images) < len(kinds) + 1:
        raise ValueError(f"need ≥ {len(kinds) + 1} test images, world has {len(images)}")
    planted = {"images": {}, "records": {"vqa": {}, "snli_ve": {}, "vcr": {}}}
    for path, how in zip(images, kinds):
        break_image(path, how)
        planted["images"][path.name] = how

    q_path = root / "v2_OpenEnded_mscoco_test_questions.json"
    q = json.loads(q_path.read_text())
    healthy = [x for x in q["questions"] if _image_of(x) not in planted["images"]]
    for x in healthy[:2]:
        x["question"] = ""
        planted["records"]["vqa"][f"vqa:test:{x['question_id']}"] = "read:empty_text"
    q_path.write_text(json.dumps(q))

    def snli(lines: list[str]) -> list[str]:
        for i, ln in enumerate(lines):
            o = json.loads(ln)
            if o["Flikr30kID"] not in planted["images"]:
                o["sentence2"] = "  "
                lines[i] = json.dumps(o)
                planted["records"]["snli_ve"][f"snli_ve:test:{o['pairID']}"] = "read:empty_text"
                break
        lines.insert(1, '{"pairID": "cut off mid-line", ')
        planted["records"]["snli_ve"]["snli_ve:test:line2"] = "read:malformed_json"
        return lines

    def vcr(lines: list[str]) -> list[str]:
        done = 0
        for i, ln in enumerate(lines):
            o = json.loads(ln)
            if o["img_fn"] in planted["images"] or done == 2:
                continue
            n = len(o["objects"])
            if done == 0:
                o["question"] = o["question"][:-1] + [[n + 5], "?"]  # no such object
            else:
                o["answer_choices"][0] = [[n], "is", "red", "."]  # one past the last object
            lines[i] = json.dumps(o)
            planted["records"]["vcr"][f"vcr:test:{o['annot_id']}"] = "read:bad_reference"
            done += 1
        lines.insert(2, "not json at all")
        planted["records"]["vcr"]["vcr:test:line3"] = "read:malformed_json"
        return lines

    _edit_jsonl(root / "snli_ve_test.jsonl", snli)
    _edit_jsonl(root / "test.jsonl", vcr)
    return planted


def _image_of(question: dict) -> str:
    return f"COCO_test_{question['image_id']:012d}.png"
