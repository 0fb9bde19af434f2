"""A hand-made tiny world (4 images, captions + scene graphs) in the synth file layout."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "blue": (35, 70, 225)}


def _scene(image_id: int, objects: list[tuple[str, str, list[int]]], root: Path) -> dict:
    file = f"img_{image_id}.png"
    im = Image.new("RGB", (64, 64), (236, 233, 226))
    draw = ImageDraw.Draw(im)
    for color, shape, box in objects:
        (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLORS[color])
    im.save(root / "images" / file)
    return {"image_id": image_id, "file": file, "width": 64, "height": 64,
            "objects": [{"id": i, "color": c, "shape": s, "size": "large", "box": b}
                        for i, (c, s, b) in enumerate(objects)]}


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A world with splits train and test, 2 images each, 2 objects per image."""
    root = tmp_path_factory.mktemp("world")
    (root / "images").mkdir()
    layouts = {"train": [[("red", "circle", [4, 4, 28, 28]), ("blue", "square", [34, 30, 60, 56])],
                         [("blue", "circle", [6, 30, 30, 54]), ("red", "square", [36, 6, 58, 28])]],
               "test": [[("red", "square", [4, 4, 28, 28]), ("blue", "circle", [34, 30, 60, 56])],
                        [("blue", "square", [6, 30, 30, 54]), ("red", "circle", [36, 6, 58, 28])]]}
    image_id = 0
    for split, scenes in layouts.items():
        graphs, lines = [], []
        for objects in scenes:
            image_id += 1
            g = _scene(image_id, objects, root)
            graphs.append(g)
            rel = f"images/{g['file']}"
            names = [f"a {c} {s}" for c, s, _ in objects]
            lines.append({"image": rel, "caption": " and ".join(names), "box": None})
            lines.append({"image": rel, "caption": f"{names[0]} left of {names[1]}", "box": None})
            for (c, s, box), name in zip(objects, names):
                lines.append({"image": rel, "caption": name, "box": box})
        (root / f"scenes_{split}.json").write_text(json.dumps(graphs))
        (root / f"captions_{split}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root
