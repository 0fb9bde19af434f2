"""No secrets in configs or written run files: the W&B key comes only from the environment.

The whole-pipeline run of ``test_bad_input.py`` scans its run folder for the key too; here
the config schema and the logger are checked on their own.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from fgalign.config import TASK_SECTIONS, Config, TasksCfg, dump_yaml, to_dict
from fgalign.load import build_config

SECRET = "fgalign-test-secret-0123456789abcdef0123456789abcdef"
SECRET_NAME = re.compile(r"(api_?key|token|secret|password|credential)", re.IGNORECASE)


def files_containing(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    raw = needle.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and raw in p.read_bytes()]


def _field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    fields = {n: f.annotation for n, f in model.model_fields.items()}
    if model is TasksCfg:  # one section per registered task, of the task's own model
        fields = dict(TASK_SECTIONS)
    for name, ann in fields.items():
        out.append(prefix + name)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _field_paths(ann, prefix + name + ".")
    return out


def test_config_has_no_field_for_a_secret():
    paths = _field_paths(Config)
    assert "logging.project" in paths and "tasks.vqa.k" in paths  # it reaches every section
    assert not [p for p in paths if SECRET_NAME.search(p)]


def test_config_rejects_a_key_smuggled_in():
    with pytest.raises(Exception, match="unknown key"):
        build_config({"logging": {"api_key": SECRET}})


def test_wandb_key_never_written_to_run_files(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from fgalign.logging import create_logger

    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = build_config({"data": {"root": str(tmp_path / "data")}})
    run_dir = tmp_path / "run"
    (run_dir).mkdir()
    (run_dir / "config.yaml").write_text(dump_yaml(cfg))
    logger = create_logger(cfg.logging, run_dir, run_name="secret-check")
    logger.log_config(to_dict(cfg))
    logger.log_dict({"vqa": {"global": {"score": 1.0}}})
    logger.close()
    assert list(run_dir.rglob("*.wandb")), "the offline W&B run was not written"
    assert files_containing(run_dir, SECRET) == []
