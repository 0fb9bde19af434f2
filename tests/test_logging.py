import io

import pytest

from fgalign.config import LoggingCfg
from fgalign.logging import (
    MultiLogger,
    StdoutLogger,
    create_logger,
    flatten,
    read_offline_run,
    redact,
    wandb_mode,
)


def test_flatten_nested_metrics():
    m = {"vqa": {"global": {"score": 35.0}, "n": 10}, "t": 1.5}
    assert flatten(m) == {"vqa/global/score": 35.0, "vqa/n": 10, "t": 1.5}


def test_redact_secret_keys_only():
    cfg = {"logging": {"api_key": "abc", "project": "p"}, "token": "t", "tokens": 3,
           "password": None, "items": [{"secret": "s"}]}
    assert redact(cfg) == {"logging": {"api_key": "***", "project": "p"}, "token": "***",
                           "tokens": 3, "password": None, "items": [{"secret": "***"}]}


def test_stdout_logger_prints_flat_metrics():
    buf = io.StringIO()
    lg = StdoutLogger(buf)
    lg.log_dict({"vqa": {"fusion": {"score": 41.23456}}}, step=2)
    lg.log_table("predictions", [{"uid": "a"}, {"uid": "b"}])
    assert buf.getvalue().splitlines() == ["[step 2] vqa/fusion/score: 41.2346",
                                           "[table] predictions: 2 rows"]


def test_no_wandb_gives_stdout_only(tmp_path):
    lg = create_logger(LoggingCfg(wandb=True), tmp_path, use_wandb=False)
    assert isinstance(lg, MultiLogger) and [type(x) for x in lg.loggers] == [StdoutLogger]
    lg = create_logger(LoggingCfg(wandb=False), tmp_path)
    assert [type(x) for x in lg.loggers] == [StdoutLogger]
    assert not (tmp_path / "wandb").exists()


def test_mode_offline_without_key(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() == "disabled"


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    return tmp_path


def test_wandb_offline_run_holds_metrics_and_redacted_config(offline_env):
    run_dir = offline_env / "run"
    lg = create_logger(LoggingCfg(wandb=True, project="t"), run_dir, run_name="r",
                       stream=io.StringIO())
    lg.log_config({"model": {"name": "shapes-tiny"}, "api_key": "SECRET-123"})
    lg.log_dict({"vqa": {"fusion": {"score": 41.5}}, "stages": {"embed": {"seconds": 2.0}}})
    lg.log_table("predictions", [{"uid": "vqa:test:1", "pred": 3, "candidates": ["a", "b"]}])
    lg.close()
    run = read_offline_run(run_dir)
    assert run["history"]["vqa/fusion/score"] == 41.5
    assert run["history"]["stages/embed/seconds"] == 2.0
    assert run["history"]["predictions/nrows"] == 1
    assert run["config"]["model"] == {"name": "shapes-tiny"}
    assert run["config"]["api_key"] == "***"
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert b"SECRET-123" not in f.read_bytes(), f


def test_offline_run_reader_waits_for_the_exit_record_and_ignores_a_torn_tail(offline_env):
    """wandb-core may still be writing the log when finish() returns: a log cut anywhere
    parses to what it holds so far and is not complete; the reader times out on it."""
    from fgalign.logging import _parse_run_log

    run_dir = offline_env / "run"
    lg = create_logger(LoggingCfg(wandb=True, project="t"), run_dir, run_name="r",
                       stream=io.StringIO())
    for step in range(40):  # > 32 KiB of history: records span blocks
        lg.log_dict({"vqa": {f"k{i}": float(step) for i in range(60)}})
    lg.close()
    assert read_offline_run(run_dir)["complete"]  # waits for W&B to finish writing the log
    log = next(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    data = log.read_bytes()
    assert len(data) > 2 * 32768
    whole = _parse_run_log(data)
    assert whole["complete"] and whole["history"]["vqa/k59"] == 39.0
    for cut in (7, 100, 32768 + 3, len(data) // 2, len(data) - 5):
        part = _parse_run_log(data[:cut])
        assert not part["complete"]
        assert all(whole["history"][k] >= v for k, v in part["history"].items()
                   if k.startswith("vqa/"))
    log.write_bytes(data[:len(data) // 2])
    with pytest.raises(TimeoutError, match="no exit record"):
        read_offline_run(run_dir, timeout=0.5)


def test_offline_run_reader_refuses_an_unknown_log_version():
    from fgalign.logging import _parse_run_log

    with pytest.raises(ValueError, match="format changed"):
        _parse_run_log(b":W&B\xe1\xbe\x01" + b"\x00" * 20)
