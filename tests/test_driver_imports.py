"""The Ray driver reaches its first execution without importing torch, spaCy, open_clip or
matplotlib: on two cores the driver's imports compete with Ray's start, which is what the run
waits for (BENCHMARKS.md, "The driver's plan without torch"). The models and the parsers load in
the actors; the driver's own steps load them later, beside the actor pools
(``fgalign.experiment.run.DriverWarmup``).

A fresh interpreter runs ``fgalign run`` with Ray replaced by a recorder that notes the loaded
modules when the first execution begins, then stops the run.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
HEAVY = ("torch", "spacy", "open_clip", "matplotlib")

SCRIPT = """
import json, sys
from fgalign.ray import executor, runtime

seen = {}

def schedule(self, *args, **kwargs):  # just before the executions
    seen.update({m: m in sys.modules for m in %(heavy)r})
    return "sequential"

def execute(self, *args, **kwargs):
    seen.update({m: seen.get(m, False) or m in sys.modules for m in %(heavy)r})
    raise RuntimeError("stopped after the plan")

executor.RayExecutor.schedule, executor.RayExecutor.execute = schedule, execute
runtime.LazyRay.start_early = lambda self: None  # no Ray: the recorder stops the run first
runtime.LazyRay.ensure = lambda self: None
from fgalign.cli import main

try:
    main(%(argv)r)
finally:
    print("SEEN " + json.dumps(seen))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from fgalign.data.synth import generate_world

    base = tmp_path_factory.mktemp("driver")
    generate_world(base / "world", seed=0, images=20, image_size=64, progress=False)
    return base


def test_the_ray_driver_plans_without_torch_spacy_open_clip_or_matplotlib(world):
    argv = ["run", "--config", str(ROOT / "configs/demo.yaml"), "--no-wandb",
            "--set", f"data.root={world / 'world'}", "--set", "data.synth.generate=false",
            "--set", "data.limit=5", "--set", f"ray.cache_dir={world / 'stages'}",
            "--set", f"experiment.output_dir={world / 'runs'}"]  # every task, spaCy keywords
    out = subprocess.run([sys.executable, "-c", SCRIPT % {"heavy": HEAVY, "argv": argv}],
                         check=False, cwd=ROOT, capture_output=True, text=True, timeout=600)
    line = [x for x in out.stdout.splitlines() if x.startswith("SEEN ")]
    assert line, out.stdout + out.stderr
    seen = json.loads(line[-1][5:])
    assert seen, "no execution began:\n" + out.stdout + out.stderr
    assert not any(seen.values()), seen
