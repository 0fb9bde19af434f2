"""Determinism: two runs of the demo config (at small size) write byte-identical metrics.json.

Both runs use the same output folder (emptied in between), so the config — and its hash,
which metrics.json records — is the same; nothing else may differ (no timings, no dates).
The Ray pipeline's own repeat runs are compared in test_faults.py.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from hardening_support import FAST, REPO

from fgalign.load import load_config


def test_two_inprocess_runs_write_identical_metrics(tmp_path):
    from fgalign.data.synth import generate_world
    from fgalign.experiment.evaluate import evaluate

    world = tmp_path / "world"
    generate_world(world, seed=2, images=15, image_size=64, progress=False)
    out = tmp_path / "runs"
    cfg = load_config(REPO / "configs" / "demo.yaml",
                      [f"data.root={world}", f"experiment.output_dir={out}", "data.limit=12",
                       *FAST])
    texts = []
    for _ in range(2):
        shutil.rmtree(out, ignore_errors=True)
        run = Path(evaluate(cfg, figures=False)["run_dir"])
        texts.append((run / "metrics.json").read_text())
    assert set(load_config(REPO / "configs" / "demo.yaml").data.tasks) == {"vqa", "snli_ve", "vcr"}
    assert '"vqa"' in texts[0] and '"snli_ve"' in texts[0] and '"vcr"' in texts[0]
    assert texts[0] == texts[1]
