"""Faults during a pipeline run: a killed Embedder actor, a killed driver.

Both runs use the VQA task of the damaged world and a random CLIP bundle heavier than
test-tiny (``slow_bundle``), so the embed stage lasts long enough to be hit while it works.
Each is compared with an undisturbed run of the same config (``baseline``): same predictions
per row, byte-identical metrics.json (the runs share their output folder, emptied in
between, so even the config hash recorded in metrics.json is the same).

- Actor: SIGKILL the ``EmbedderActor`` worker process once the stage has written its first
  output file; Ray restarts it (``ray.max_restarts``: actor restarts and task retries) and the
  run finishes.
- Driver: run pipelines/full.py in a subprocess joined to the test cluster, SIGKILL it once
  the embed stage's cache is complete, re-run: the regions, keywords and embed stages are read
  from cache (nothing recomputed) and the results match.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hardening_support import PIPELINE, REPO, run_args, run_dir

pytestmark = pytest.mark.ray
ACTOR = "EmbedderActor"


def worker_pids(tag: str) -> set[int]:
    """PIDs of processes whose command line (Ray sets it to the actor's name) contains ``tag``."""
    pids = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if tag in (p / "cmdline").read_bytes().decode(errors="replace"):
                    pids.add(int(p.name))
            except OSError:
                continue
    return pids


class ActorKiller(threading.Thread):
    """Kills the first ``tag`` process once ``ready()`` holds; records every such process."""

    def __init__(self, tag: str, ready):
        super().__init__(daemon=True)
        self.tag, self.ready = tag, ready
        self.killed: int | None = None
        self.seen: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = worker_pids(self.tag)
            self.seen |= pids
            if self.killed is None and pids and self.ready():
                self.killed = min(pids)
                subprocess.run(["kill", "-9", str(self.killed)], check=False)
            time.sleep(0.02)


def _outputs(out: Path) -> tuple[str, dict[str, dict]]:
    run = run_dir(out)
    preds = {r["uid"]: r for r in pq.read_table(run / "predictions.parquet").to_pylist()}
    return (run / "metrics.json").read_text(), preds


def _records(out: Path) -> dict[str, bool]:
    """Stage name → read from cache (True) in the last run, from the run's stage records."""
    found = sorted(out.rglob("stages.json"))
    assert found, f"no stages.json under {out}"
    records = json.loads(found[-1].read_text())
    return {r["stage"]: r["cached"] for r in records if r["task"] == "vqa"}


@pytest.fixture(scope="module")
def fault_setup(full_main, ray_session, bad_world, slow_bundle, tmp_path_factory):
    """(args, output dir, baseline metrics.json text, baseline predictions)."""
    out = tmp_path_factory.mktemp("faults") / "runs"
    args = run_args(bad_world[0], out, ["vqa"], f"model.name={slow_bundle}",
                    "ray.rows_per_file=4", "ray.stages.embed.batch_size=4", "ray.max_restarts=2")
    assert full_main(args) == 0
    metrics, preds = _outputs(out)
    return args, out, metrics, preds


def test_killed_embed_actor_is_restarted_and_results_match(fault_setup, full_main):
    args, out, metrics, preds = fault_setup
    shutil.rmtree(out)
    killer = ActorKiller(ACTOR, lambda: any(out.rglob("embed-*.tmp-*/*.parquet")))
    killer.start()
    try:
        assert full_main(args) == 0
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed is not None, "the embed actor finished before it could be killed"
    assert killer.seen - {killer.killed}, "no Embedder actor process after the kill"
    got_metrics, got = _outputs(out)
    assert got.keys() == preds.keys()
    assert [got[u] for u in sorted(got)] == [preds[u] for u in sorted(preds)]
    assert got_metrics == metrics


def test_killed_driver_resumes_from_completed_stages(fault_setup, full_main, ray_session):
    args, out, metrics, preds = fault_setup
    shutil.rmtree(out)
    address = ray_session.get_runtime_context().gcs_address
    cmd = [sys.executable, str(PIPELINE), *args,
           "--set", f"ray.address={address}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            if any(out.rglob("vqa/embed-*/_SUCCESS")):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        assert proc.wait(timeout=30) == -signal.SIGKILL, "the driver ended before the kill"
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(out.rglob("metrics.json")), "the killed run got to the end"
    assert full_main(args) == 0
    assert _records(out) == {"regions": True, "keywords": True, "embed": True, "score": False}
    got_metrics, got = _outputs(out)
    assert [got[u] for u in sorted(got)] == [preds[u] for u in sorted(preds)]
    assert got_metrics == metrics
