"""A small synthetic world shared by the synth tests (generated once per session, ~1 s)."""
from __future__ import annotations

import json

import pytest
from synth_checks import SPLITS

from fgalign.data.synth import generate_world


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "world"
    generate_world(out, seed=3, images=60, image_size=96, progress=False)
    return out


@pytest.fixture(scope="session")
def scenes(world_dir):
    """image_id → scene graph, over all splits."""
    out = {}
    for split in SPLITS:
        for s in json.loads((world_dir / f"scenes_{split}.json").read_text()):
            out[s["image_id"]] = s
    return out
