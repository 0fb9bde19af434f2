"""Two runs at once on one stage-cache folder (issue 17): both finish, with the results each
would have had alone; the second of two identical runs waits for the first's run folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from fgalign.data.synth import generate_world

    root = tmp_path_factory.mktemp("concurrent") / "world"
    generate_world(root, seed=5, images=24, image_size=64, progress=False)
    return root


def _cmd(world: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    sets = [f"data.root={world}", "data.synth.generate=false", "model.name=test-tiny",
            "keywords.extractor=rule", "data.limit=6", "data.tasks=[vqa, vcr]",
            "tasks.vqa.val_limit=6", f"experiment.output_dir={out}", f"ray.cache_dir={cache}",
            "logging.figures=0", *extra]
    return [sys.executable, "-m", "fgalign", "evaluate", "--config",
            str(REPO / "configs/demo.yaml"), *[a for s in sets for a in ("--set", s)]]


def _metrics(out: Path) -> list[dict]:
    found = sorted(out.rglob("metrics.json"))
    return [{t: m["variants"] for t, m in json.loads(p.read_text())["tasks"].items()}
            for p in found]


def test_two_runs_sharing_a_cache_both_finish_with_their_own_results(world, tmp_path):
    env = {**os.environ, "CI": "1"}
    alone = subprocess.run(_cmd(world, tmp_path / "alone", tmp_path / "alone-cache"),
                           cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert alone.returncode == 0, alone.stderr[-2000:]
    shared = tmp_path / "shared-cache"
    runs = [subprocess.Popen(_cmd(world, tmp_path / name, shared, *extra), cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name, extra in (("a", ()), ("b", ("align.tau=0.2",)), ("a", ()))]
    outs = [p.communicate(timeout=900) for p in runs]
    assert [p.returncode for p in runs] == [0, 0, 0], [e[-2000:] for _, e in outs]
    # the first and the third run: one config, one run folder (the later one waited)
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "alone")
    assert any("is in use by" in e for _, e in outs)
    assert len(_metrics(tmp_path / "b")) == 1
    assert not list(shared.rglob("*.tmp-*"))  # nobody's temporary folder left behind
