"""Every pipelines/*.py entry point: a bad config → one error line on stderr, exit status 2."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fgalign import cli

REPO = Path(__file__).parents[1]
BAD = "align: {weights: {region_wrod: 1}}\n"
WHY = ("align.weights.region_wrod: unknown fine component 'region_wrod' (did you mean "
       "'region_word'?); known: region_word, "
       "region_sentence, tag_text, count, size, relation")


def _files(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD)
    for kind in ("sweeps", "ablations"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "s.yaml").write_text("base: ../bad.yaml\n")
    return tmp_path


CASES = {
    "full.py": ["--config", "{d}/bad.yaml"],
    "sweep.py": ["--config", "{d}/sweeps/s.yaml"],
    "ablate.py": ["--config", "{d}/ablations/s.yaml"],
    "benchmark.py": ["--quick", "--config", "{d}/bad.yaml", "--work", "{d}/bench"],
}


def _main(script):
    spec = importlib.util.spec_from_file_location(f"pipelines_{script[:-3]}",
                                                  REPO / "pipelines" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("script", sorted(CASES))
def test_bad_config_prints_one_error_line(tmp_path, capsys, script):
    d = _files(tmp_path)
    rc = _main(script)([a.format(d=d) for a in CASES[script]])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no traceback
    assert lines[0].startswith(f"{script}: error: invalid config ") and lines[0].endswith(WHY)
    assert not (d / "bench").exists()  # nothing ran before the config was checked


@pytest.mark.slow
def test_sweep_script_bad_spec_exits_2_without_traceback(tmp_path):
    """As a process: ``python pipelines/sweep.py`` with a bad spec (a traceback before)."""
    d = _files(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.run([sys.executable, str(REPO / "pipelines" / "sweep.py"), "--config",
                           str(d / "sweeps" / "s.yaml")], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"sweep.py: error: invalid config {d}/sweeps/../bad.yaml: {WHY}"]


def test_train_backbone_missing_data_is_one_line(tmp_path, capsys):
    rc = cli.main(["train-backbone", "--data", str(tmp_path / "nope"), "--out",
                   str(tmp_path / "o"), "--no-wandb"], prog="train_backbone.py")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("train_backbone.py: error: caption corpus not found: ")


def test_multi_line_config_errors_become_one_line():
    from fgalign.config import ConfigError

    e = ConfigError("invalid config x.yaml:\n  a.b: unknown key\n  a.c: unknown key")
    assert cli.one_line(e) == "invalid config x.yaml: a.b: unknown key; a.c: unknown key"
    assert cli.one_line(ValueError("plain")) == "plain"


def test_entry_points_are_thin():
    """Each pipelines/*.py only forwards to ``fgalign.cli.main`` (one behaviour for both)."""
    for path in sorted((REPO / "pipelines").glob("*.py")):
        code = path.read_text().split('"""', 2)[2]  # after the module docstring
        assert "cli.main([" in code and "argparse" not in code, path.name


def test_help_imports_no_model_or_ray_code():
    """Building every command's parser (``fgalign --help``) imports no torch, Ray or
    open_clip: they load when a command runs (was ~25 s on the shared 2-core machine)."""
    import subprocess
    import sys

    code = ("import sys; from fgalign import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'ray', 'open_clip', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def test_the_ray_driver_imports_no_model_library():
    """What ``fgalign run``'s driver imports to plan and run a pipeline loads no open_clip,
    torchvision, timm or transformers (about 3.4 s here): it builds no model, and its actor
    pools start that much sooner (``fgalign.models.bundle``)."""
    code = ("import sys\nimport fgalign.commands.run, fgalign.experiment.run, "
            "fgalign.ray.executor, fgalign.data.check, fgalign.models.weights\n"
            "print(sorted(m for m in ('open_clip', 'torchvision', 'timm', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def test_run_errors_are_one_line_while_ray_starts_early(tmp_path):
    """``fgalign run`` on an empty cache starts Ray before the config is fully read: an error
    found then (an unknown key, an output folder that is a file) is still one line, exit 2,
    and the process ends (Ray's start is undone behind the error)."""
    (tmp_path / "a-file").write_text("x")
    for extra in (["--set", "model.nmae=x", "--set",
                   f"experiment.output_dir={tmp_path / 'runs'}"],
                  ["--set", f"experiment.output_dir={tmp_path / 'a-file'}"]):
        out = subprocess.run([sys.executable, "-m", "fgalign", "run", "--config",
                              str(REPO / "configs/demo.yaml"), "--no-wandb", *extra],
                             check=False, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "RAY_AUTH_MODE": "disabled"})
        err = [ln for ln in out.stderr.splitlines() if ln.startswith("fgalign run: error:")]
        assert out.returncode == 2 and len(err) == 1 and "Traceback" not in out.stderr, \
            out.stderr[-2000:]


def test_input_errors_are_one_line_for_every_kind(tmp_path, capsys):
    """An InputError of any kind (config, data file, world format) is one line, exit 2; no run
    folder is left behind for a world that cannot be read."""
    old = tmp_path / "old-world"
    old.mkdir()
    (old / "world.json").write_text('{"format_version": 1, "seed": 0, "images": 40, '
                                    '"image_size": 128}')
    base = ["--config", str(REPO / "configs/demo.yaml"), "--set",
            f"experiment.output_dir={tmp_path / 'runs'}"]
    assert cli.main(["evaluate", *base, "--set", f"data.root={old}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "older world format (1)" in err and "Traceback" \
        not in err and "fgalign synth --out" in err, err
    assert not (tmp_path / "runs").exists()
    assert cli.main(["adapt", *base, "--target", "vqa", "--set", "data.tasks=[vqa]",
                     "--set", f"data.root={tmp_path / 'never-generated'}"]) == 2
    err = capsys.readouterr().err.strip()  # checked before any world is generated
    assert len(err.splitlines()) == 1 and "no source task left for target vqa" in err, err
    assert not (tmp_path / "never-generated").exists()
    # a root without the split's files: one line naming them, before any run folder exists
    empty = tmp_path / "empty-root"
    empty.mkdir()
    over = [f"data.root={empty}", "data.synth.generate=false", "data.tasks=[vcr]"]
    assert cli.main(["evaluate", *base, *[a for o in over for a in ("--set", o)]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing file test.jsonl" in err, err
    assert "fgalign data check --task vcr" in err and not (tmp_path / "runs").exists()
    # a run that fails after its folder exists (here: the library call, which has no
    # pre-run check) says so there, with no half outputs
    from fgalign.experiment.evaluate import evaluate
    from fgalign.load import load_config

    cfg = load_config(REPO / "configs/demo.yaml", [f"experiment.output_dir={tmp_path / 'runs'}",
                                                   *over])
    with pytest.raises(FileNotFoundError):
        evaluate(cfg, figures=False)
    run = next((tmp_path / "runs").glob("*/*"))
    assert (run / "failed.txt").read_text().startswith("FileNotFoundError: ")
    assert not (run / ".predictions").exists() and not (run / "metrics.json").exists()
