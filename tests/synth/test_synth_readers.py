"""The foundation readers read every synthetic split of all three tasks with zero errors."""
from __future__ import annotations

from collections import Counter

import pytest

from fgalign.config import DataCfg

SPLITS = ("train", "val", "test")
SYNTH_DATA = dict(vqa_images_dir="images", vqa_image_template="COCO_{split}_{image_id:012d}.png",
                  snli_ve_images_dir="images", vcr_images_dir="images")


@pytest.mark.parametrize("split", SPLITS)
def test_readers_read_synth_without_errors(world_dir, split):
    vqa = pytest.importorskip("fgalign.data.vqa")
    snli_ve = pytest.importorskip("fgalign.data.snli_ve")
    vcr = pytest.importorskip("fgalign.data.vcr")
    cfg = DataCfg(root=str(world_dir), **SYNTH_DATA)
    snli_rows = snli_ve.read_snli_ve(world_dir, split, cfg)
    snli_rows = snli_rows[0] if isinstance(snli_rows, tuple) else snli_rows
    tasks = {"vqa": vqa.read_vqa(world_dir, split, cfg), "snli_ve": snli_rows,
             "vcr": vcr.read_vcr(world_dir, split, cfg)}
    for task, rows in tasks.items():
        assert rows, task
        assert Counter(r["error"] for r in rows if r["error"]) == Counter(), task
        assert all((world_dir / r["image_path"]).is_file() for r in rows), task
    assert all(len(r["target"]) == 10 for r in tasks["vqa"])
    assert all(len(r["candidates"]) == 4 and len(r["given_boxes"]) == len(r["object_names"])
               for r in tasks["vcr"])
