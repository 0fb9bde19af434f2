"""Fixtures of the case tests: copies of ../shared/cases under tests/fixtures/cases, both paths.

Each case runs as ``fgalign evaluate`` (in-process) and ``fgalign run`` (Ray, the session's
one cluster: ``ray_session`` of tests/conftest.py) with its own ``config.yaml``, outputs in a
tmp dir.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests/fixtures/cases"
os.environ.setdefault("WANDB_SILENT", "true")


def case_argv(command: str, case: str, out: Path, *sets: str) -> list[str]:
    """``fgalign <command>`` argv for a case, run from the repo root, outputs under ``out``."""
    argv = [command, "--config", str(CASES / case / "config.yaml"),
            "--set", f"data.root={CASES / case / 'data'}",
            "--set", f"experiment.output_dir={out}"]
    for s in sets:
        argv += ["--set", s]
    return argv + (["--no-wandb"] if command == "run" else [])


@pytest.fixture
def run_case(tmp_path, monkeypatch):
    """``run_case(command, case, *sets) -> (exit code, run folder or None)``."""
    from fgalign.cli import main

    monkeypatch.chdir(REPO)

    def run(command: str, case: str, *sets: str):
        code = main(case_argv(command, case, tmp_path / command, *sets))
        runs = sorted((tmp_path / command).glob("*/[0-9a-f]*"))
        return code, (runs[-1] if runs else None)

    return run
