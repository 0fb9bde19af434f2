"""``LazyRay``: Ray started on demand, or early in a background thread (``fgalign run`` on an
empty stage cache), waited for by ``ensure()``, stopped in the background after the last
execution. Ray itself is replaced by a recorder: these are the thread and ordering rules."""
import threading

import pytest

from fgalign.config import RayCfg
from fgalign.engine.cache import cache_is_empty
from fgalign.ray import runtime
from fgalign.ray.runtime import LazyRay


@pytest.fixture
def fake_ray(monkeypatch):
    """``init_ray`` and ``ray.shutdown`` recorded (with the thread each ran in), never run."""
    import ray

    calls: list[tuple[str, str]] = []
    gate = threading.Event()
    gate.set()

    def init(cfg):
        gate.wait(10)
        calls.append(("init", threading.current_thread().name))
        return True

    monkeypatch.setattr(runtime, "init_ray", init)
    monkeypatch.setattr(runtime, "check_stage_resources", lambda cfg, have: None)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    monkeypatch.setattr(ray, "shutdown",
                        lambda: calls.append(("shutdown", threading.current_thread().name)))
    return calls, gate


def test_on_demand_start_runs_in_the_caller_and_stops_once(fake_ray):
    calls, _ = fake_ray
    lazy = LazyRay(RayCfg())
    lazy.shutdown()  # never started: nothing to stop
    assert calls == [] and not lazy.used
    lazy.ensure()
    lazy.ensure()  # idempotent
    assert calls == [("init", threading.current_thread().name)] and lazy.up and lazy.used
    lazy.shutdown()
    lazy.shutdown()
    assert [c[0] for c in calls] == ["init", "shutdown"] and not lazy.up and lazy.used


def test_early_start_is_waited_for_and_its_thread_lives_until_shutdown(fake_ray):
    """The start runs in its own thread, which stays alive while Ray is up (Ray's processes
    get the parent-death signal when the thread that started them ends)."""
    calls, gate = fake_ray
    gate.clear()  # the start is still under way when ensure() is called
    lazy = LazyRay(RayCfg())
    lazy.start_early()
    lazy.start_early()  # idempotent: one thread
    threading.Timer(0.2, gate.set).start()
    lazy.ensure()  # waits for the start
    assert calls == [("init", "fgalign-ray-start")] and lazy.up
    assert any(t.name == "fgalign-ray-start" for t in threading.enumerate())  # still holding
    lazy.shutdown()
    assert calls[-1][0] == "shutdown"
    assert not any(t.name == "fgalign-ray-start" for t in threading.enumerate())


def test_an_early_start_error_is_raised_by_ensure(monkeypatch, fake_ray):
    def broken(cfg):
        raise RuntimeError("no cluster at that address")

    monkeypatch.setattr(runtime, "init_ray", broken)
    lazy = LazyRay(RayCfg())
    lazy.start_early()
    with pytest.raises(RuntimeError, match="no cluster at that address"):
        lazy.ensure()
    assert not lazy.up
    lazy.shutdown()  # nothing started: no ray.shutdown, the thread ends
    assert fake_ray[0] == []


def test_background_stop_then_ensure_waits_and_starts_again(fake_ray):
    calls, _ = fake_ray
    lazy = LazyRay(RayCfg())
    lazy.start_early()
    lazy.ensure()
    lazy.shutdown(wait=False)  # returns at once; the stop runs in its own thread
    lazy.ensure()  # waits for that stop, then starts again (here, in the caller)
    assert [c[0] for c in calls] == ["init", "shutdown", "init"]
    assert calls[1][1] == "fgalign-ray-stop" and lazy.up
    lazy.shutdown()
    assert [c[0] for c in calls] == ["init", "shutdown", "init", "shutdown"]


def test_cache_is_empty(tmp_path):
    assert cache_is_empty(str(tmp_path / "never-made"))
    (tmp_path / "stages").mkdir()
    assert cache_is_empty(str(tmp_path / "stages"))
    (tmp_path / "stages" / "vqa").mkdir()
    assert not cache_is_empty(str(tmp_path / "stages"))


def test_early_ray_reads_the_file_and_overrides_alone(tmp_path):
    """``fgalign run`` reads ``ray`` / ``experiment`` before the full config: cold (empty
    cache) → start early; a bad section or an unusable output folder → None, no early start
    (load_config / check_output_dir report it, in one line)."""
    from pathlib import Path

    from fgalign.commands.run import early_ray

    demo = str(Path(__file__).parents[1] / "configs" / "demo.yaml")
    out = tmp_path / "runs"
    ray, cold = early_ray(demo, [f"experiment.output_dir={out}", "ray.num_cpus=2"])
    assert ray.num_cpus == 2 and cold
    (out / "demo" / "stages" / "images").mkdir(parents=True)
    assert early_ray(demo, [f"experiment.output_dir={out}"])[1] is False
    assert early_ray(demo, [f"ray.cache_dir={tmp_path / 'elsewhere'}",
                            f"experiment.output_dir={out}"])[1] is True
    assert early_ray(demo, ["ray.num_cpus=-3"]) is None
    assert early_ray(str(tmp_path / "missing.yaml"), []) is None
    (tmp_path / "a-file").write_text("x")
    assert early_ray(demo, [f"experiment.output_dir={tmp_path / 'a-file'}"]) is None
