"""Faults during a pipeline run: a killed ImageEmbedder actor, a killed driver.

One faulted run (``faulted``, module fixture) serves both tests: it processes the VQA task of the
damaged world with the settings of ``bad_run`` (a random CLIP bundle heavier than test-tiny, so
the images stage lasts long enough to be hit while it works; small batches and files), suffers
both faults one after the other, is resumed, and is compared with ``bad_run``, the undisturbed
run: same rows, same predictions and credit per row, same VQA metrics.

- Actor: SIGKILL the ``ImageEmbedderActor`` worker process as soon as it appears, while the run is
  under way and before the actor has embedded anything, so the stage cannot finish without a
  restart; Ray restarts it (``ray.max_restarts``: actor restarts and task retries) and the run
  goes on: the images stage completes and every later stage of the test split runs on it.
  (Killing it after its first output file raced with the end of the stage on a quiet
  machine: a pool already released by Ray Data is not restarted.)
- Driver: the pipeline runs in a subprocess joined to the test cluster; SIGKILL it once the
  rows execution has written its first score chunk (the images execution is committed by
  then; a set's row stages commit together when its last chunk is through, and the test
  split's chunks come after its calibration set's), re-run: regions and images are read from
  cache (not recomputed), the row stages of the test split are recomputed, and the results
  match.

Both faults share one run because each costs a whole Ray pipeline run (two Ray Data
executions); they hit different moments (the first images actor; the first score chunk of
the rows execution) and the actor's restart must have completed for the driver kill to happen.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hardening_support import PIPELINE, REPO, run_args, run_dir, run_settings

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ACTOR = "ImagesChunks"  # the CLIP image stage's actor pool: the longest stage


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


def found(out: Path, pattern: str) -> list[Path]:
    """``out.rglob(pattern)`` that tolerates folders renamed or removed while it walks (a
    stage's temporary folder becomes its cache while the run goes on)."""
    for _ in range(20):
        try:
            return list(out.rglob(pattern))
        except OSError:
            time.sleep(0.01)
    return []


def vqa_results(out: Path) -> tuple[dict, dict[str, dict]]:
    """(VQA metrics, VQA prediction rows by uid) of the run under ``out``."""
    run = run_dir(out)
    metrics = json.loads((run / "metrics.json").read_text())["tasks"]["vqa"]
    rows = pq.read_table(run / "predictions.parquet").to_pylist()
    return metrics, {r["uid"]: r for r in rows if r["task"] == "vqa"}


def assert_same_as_baseline(out: Path, bad_run) -> None:
    metrics, preds = vqa_results(out)
    base_metrics, base_preds = vqa_results(bad_run[0])
    assert preds.keys() == base_preds.keys()
    for uid, row in preds.items():
        assert {k: v for k, v in row.items() if v is not None} == \
            {k: v for k, v in base_preds[uid].items() if v is not None}, uid
    assert metrics == base_metrics


def stage_records(out: Path) -> dict[str, bool]:
    """Stage name → read from cache (True) in the last run, from the run's stages.json."""
    found = sorted(out.rglob("stages.json"))
    assert found, f"no stages.json under {out}"
    records = json.loads(found[-1].read_text())
    return {r["stage"]: r["cached"] for r in records if r["task"] == "vqa"
            and r["split"] == "test"}


@pytest.fixture(scope="module")
def faulted(bad_run, bad_world, slow_bundle, full_main, ray_session, tmp_path_factory):
    """The faulted run: actor killed, then driver killed, then resumed in this process.

    Returns a namespace: ``out`` (output dir), ``killer`` (``ActorKiller``), ``driver_exit``
    (exit status of the killed driver), ``metrics_before_resume`` (metrics.json files written
    before the resume), ``images_done_before_resume`` (the images stage cache of the test split
    was complete when the driver died), ``resumed_exit`` and ``records`` (stage → cached, of the
    resumed run).
    """
    from types import SimpleNamespace

    out = tmp_path_factory.mktemp("faults") / "runs"
    args = run_args(bad_world[0], out, ["vqa"], *run_settings(slow_bundle))
    address = ray_session.get_runtime_context().gcs_address
    cmd = [sys.executable, str(PIPELINE), *args, "--set", f"ray.address={address}"]
    killer = ActorKiller(ACTOR, lambda: not found(out, "images-*/*.tmp-*/*.parquet"))
    killer.start()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 900
        while proc.poll() is None and time.time() < deadline:
            if found(out, "vqa/score-*.tmp-*/*.parquet"):  # the rows execution is under way
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        driver_exit = proc.wait(timeout=30)
    finally:
        killer.done.set()
        killer.join()
        if proc.poll() is None:
            proc.kill()
    metrics_before = found(out, "metrics.json")
    images_done = any("/images-" in str(m.parent) for m in found(out, "_SUCCESS"))
    resumed = full_main(args)
    return SimpleNamespace(out=out, killer=killer, driver_exit=driver_exit,
                           metrics_before_resume=metrics_before,
                           images_done_before_resume=images_done, resumed_exit=resumed,
                           records=stage_records(out))


def test_killed_embed_actor_is_restarted_and_results_match(faulted, bad_run):
    killer = faulted.killer
    assert killer.killed is not None, "the images actor finished before it could be killed"
    assert killer.seen - {killer.killed}, "no images actor process after the kill"
    # the run went on after the kill: the killed actor's stage completed (restarted actor) and
    # the rows execution after it began, so the driver was still alive to be killed there
    assert faulted.images_done_before_resume, "the images stage did not complete after the kill"
    assert faulted.driver_exit == -signal.SIGKILL, "the driver ended before the kill"
    assert faulted.records["images"], "the resumed run recomputed the images stage"
    assert_same_as_baseline(faulted.out, bad_run)


def test_killed_driver_resumes_from_completed_stages(faulted, bad_run):
    assert faulted.driver_exit == -signal.SIGKILL, "the driver ended before the kill"
    assert not faulted.metrics_before_resume, "the killed run got to the end"
    assert faulted.resumed_exit == 0
    assert faulted.records == {"regions": True, "images": True, "candidates": False,
                               "keywords": False, "embed": False, "score": False}
    assert_same_as_baseline(faulted.out, bad_run)
