"""The foundation readers read every synthetic split of all three tasks with zero errors."""
from __future__ import annotations

import json

import pytest

from fgalign.config import DataCfg
from fgalign.data.synth import DATA_PATHS
from fgalign.tasks import read_task_report

SPLITS = ("train", "val", "test")


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", ["vqa", "snli_ve", "vcr"])
def test_readers_read_synth_without_errors(world_dir, task, split):
    cfg = DataCfg(root=str(world_dir), **DATA_PATHS)
    rows, report = read_task_report(task, world_dir, split, cfg)
    counts = json.loads((world_dir / "world.json").read_text())["counts"][split]
    assert report == {"rows": counts[task], "errors": 0, "error_reasons": {},
                      "missing_images": 0, "skipped": {}}
    if task == "vqa":
        assert all(len(r["target"]) == 10 and r["answer_type"] for r in rows)
    if task == "vcr":
        assert all(len(r["candidates"]) == 4 and len(r["given_boxes"]) == len(r["object_names"])
                   for r in rows)
