"""One local Ray cluster for the whole test session (ray.init costs seconds on 2 cores)."""
import logging
import os

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ["RAY_DATA_DISABLE_PROGRESS_BARS"] = "1"
os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
os.environ.setdefault("WANDB_SILENT", "true")

ray = pytest.importorskip("ray")


def _format_eagerly(record: logging.LogRecord) -> bool:
    """Render a record's message now and drop its references to exception objects."""
    record.msg, record.args = record.getMessage(), ()
    if record.exc_info:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    return True


@pytest.fixture(scope="session")
def ray_session():
    """Ray with 2 CPUs and one *logical* GPU (GPU scheduling is testable on CPU)."""
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
