"""Fixtures shared by every test folder: the one local Ray cluster of the test session.

``ray_session`` starts Ray once (2 CPUs and one *logical* GPU, so GPU scheduling is testable
on CPU) and every Ray test (tests/ray, tests/hardening, test_sweep, test_ablate) uses it;
ray.init costs seconds on 2 cores. Ray is imported only when a test asks for the fixture.
"""
import logging
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ["RAY_DATA_DISABLE_PROGRESS_BARS"] = "1"
os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
os.environ.setdefault("WANDB_SILENT", "true")

RAY_TESTS = Path(__file__).resolve().parent / "ray"  # ray_dummy_stages lives there
if str(RAY_TESTS) not in sys.path:
    sys.path.insert(0, str(RAY_TESTS))


def _format_eagerly(record: logging.LogRecord) -> bool:
    """Render a record's message now and drop its references to exception objects."""
    record.msg, record.args = record.getMessage(), ()
    if record.exc_info:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    return True


@pytest.fixture(scope="session")
def ray_session():
    """The session's Ray (reuses one already running; shuts down at the end of the session)."""
    ray = pytest.importorskip("ray")
    import ray_dummy_stages
    from ray import cloudpickle

    from fgalign.ray.runtime import configure_data_context

    cloudpickle.register_pickle_by_value(ray_dummy_stages)  # workers cannot import tests/
    # pytest's log capture keeps LogRecords, and Ray Data logs a failed execution with the
    # exception as a record argument, whose traceback pins the failed stage's actors (and
    # their CPUs) until the test ends: the next dataset would wait for CPUs forever.
    for name in ("ray.data.exceptions", "ray.data._internal.execution.streaming_executor_state"):
        logging.getLogger(name).addFilter(_format_eagerly)
    if not ray.is_initialized():
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, logging_level="ERROR",
                 object_store_memory=200 * 2**20)
    configure_data_context(progress=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def photo_sets(tmp_path_factory):
    """The real-photo sets (``fgalign.data.photo_sets.make_photo_sets``), written once per session
    and shared read-only by tests/photo_sets and tests/ray: ``{dataset: manifest}``."""
    pytest.importorskip("skimage", reason="photo sets need scikit-image (the dev extra)")
    from fgalign.data.photo_sets import make_photo_sets

    return make_photo_sets(tmp_path_factory.mktemp("photos"))


@pytest.fixture
def run_input(tmp_path, monkeypatch, request):
    """``run_input(command, case_dir, *sets)``: ``fgalign <command>`` (``evaluate`` in process,
    ``run`` on the session's Ray) on ``case_dir/config.yaml`` with ``data.root=case_dir/data``,
    the output under ``tmp_path`` and ``--set`` s; asserts exit 0, returns the run folder."""
    from fgalign.cli import main

    def run(command: str, case: Path, *sets: str) -> Path:
        if command == "run":
            request.getfixturevalue("ray_session")
        monkeypatch.chdir(Path(__file__).resolve().parents[1])
        args = [command, *(["--no-wandb"] if command == "run" else []),
                "--config", str(case / "config.yaml"), "--set", f"data.root={case / 'data'}",
                "--set", f"experiment.output_dir={tmp_path}"]
        for s in sets:
            args += ["--set", s]
        assert main(args) == 0
        run_dir, = tmp_path.glob("*/[0-9a-f]*")
        return run_dir

    return run
