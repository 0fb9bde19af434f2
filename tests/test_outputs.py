"""Output problems are one line (issue 19 kind 5): an output_dir that is a file or read-only,
a disk that fills up while the run folder is written; and a run folder is complete only when
its last file is written (never metrics.json or predictions.parquet beside failed.txt)."""
import errno
import json
import os
import re
from pathlib import Path

import pytest

from fgalign.experiment.outputs import (
    OutputDirError,
    atomic_write_text,
    check_output_dir,
    output_errors,
    temporary_name,
)

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "tests/fixtures/inputs/missing-evidence"  # a small SNLI-VE input, ~15 s a run


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    for path in (tmp_path / "runs", tmp_path / "runs" / "sub"):
        with pytest.raises(OutputDirError, match=r"experiment\.output_dir .*runs is a file"):
            check_output_dir(path)


def _read_only(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: the file system's answer, simulated
        import tempfile

        def refuse(*a, **k):
            raise PermissionError(errno.EACCES, "Permission denied", str(ro))

        monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    return ro


def test_read_only_output_dir(tmp_path, monkeypatch):
    ro = _read_only(tmp_path, monkeypatch)
    with pytest.raises(OutputDirError, match=r"ro: cannot write in .*ro \(Permission denied: "
                                             r"the folder is read-only"):
        check_output_dir(ro)


def test_atomic_write_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch):
    p = atomic_write_text(tmp_path / "metrics.json", "old")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(temporary_name(p)))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        atomic_write_text(p, "new")
    assert p.read_text() == "old" and not temporary_name(p).exists()
    with pytest.raises(OutputDirError, match=r"cannot write .*metrics\.json\.tmp: No space"), \
            output_errors(tmp_path):
        atomic_write_text(p, "new")


def test_text_utf8_cannot_hold_is_written_escaped(tmp_path):
    """A lone surrogate (an argument or file name that was not UTF-8, an escaped emoji half)
    is written as its backslash escape, not lost with the whole file."""
    p = atomic_write_text(tmp_path / "command.txt", "fgalign run --set data.root=/d/\udcff \ud83d\n")
    assert p.read_text(encoding="utf-8") == "fgalign run --set data.root=/d/\\udcff \\ud83d\n"


def test_error_text_never_raises():
    from fgalign.errors import error_text

    class Unprintable(Exception):
        def __str__(self):
            raise TypeError("no str")

    class Hopeless(Exception):
        def __str__(self):
            raise TypeError("no str")

        def __repr__(self):
            raise TypeError("no repr")

    assert error_text(ValueError("bad \ud83d")) == "ValueError: bad \ud83d"
    assert error_text(Unprintable("x")).startswith("Unprintable: Unprintable(")
    assert error_text(Hopeless()) == "Hopeless: (its message could not be printed)"


@pytest.mark.slow
def test_a_failure_whose_message_utf8_cannot_hold_still_leaves_failed_txt(tmp_path, monkeypatch,
                                                                          capsys):
    """The run's own error comes out (not a UnicodeEncodeError while writing failed.txt), and
    the folder holds failed.txt and no figure or result of the tasks finished before it."""
    def broken(*a, **k):
        raise ValueError("statement \ud83d\u202e half an emoji")

    from fgalign.cli import main

    monkeypatch.chdir(REPO)
    args = ["evaluate", "--config", str(CASE / "config.yaml"), "--set",
            f"data.root={CASE / 'data'}", "--set", f"experiment.output_dir={tmp_path}",
            "--set", "logging.figures=2"]
    assert main(args) == 0  # a first, successful run: results and figures
    run_dir, = tmp_path.glob("*/[0-9a-f]*")
    assert list((run_dir / "figures").glob("*.png"))
    monkeypatch.setattr("fgalign.experiment.run.finalize_task", broken)
    with pytest.raises(ValueError, match="half an emoji"):
        main(args)
    names = {p.name for p in run_dir.iterdir()}
    assert "failed.txt" in names and not names & {"metrics.json", "figures", "report.md"}
    assert (run_dir / "failed.txt").read_text(encoding="utf-8") == (
        "ValueError: statement \\ud83d\u202e half an emoji\n")


def test_other_errors_keep_their_traceback(tmp_path):
    with pytest.raises(ValueError), output_errors(tmp_path):
        raise ValueError("a bug")
    with pytest.raises(FileNotFoundError), output_errors(tmp_path):  # an input, not an output
        open(REPO / "no-such-file")  # noqa: SIM115


RAY_LOG_LINE = re.compile(r"^(\x1b\[[0-9;]*m)*\(")  # "(raylet) ...", "(MapWorker pid=..) ..."


def ours(err: str) -> str:
    """stderr without the log lines Ray forwards from its own processes (stripped)."""
    return "\n".join(ln for ln in err.strip().splitlines() if not RAY_LOG_LINE.match(ln))


def test_ours_drops_only_rays_forwarded_lines():
    err = ("\x1b[33m(raylet)\x1b[0m [2026-12-07 06:07:48,686 E 1 2] (raylet) "
           "file_system_monitor.cc:116: /tmp/ray/session is over 95% full\n"
           "(MapWorker(MapBatches(EmbedChunks)) pid=7) a warning\n"
           "fgalign run: error: [Errno 28] No space left on device\n")
    assert ours(err) == "fgalign run: error: [Errno 28] No space left on device"


def _evaluate(out, capsys, command="evaluate"):
    from fgalign.cli import main

    code = main([command, *(["--no-wandb"] if command == "run" else []),
                 "--config", str(CASE / "config.yaml"),
                 "--set", f"data.root={CASE / 'data'}", "--set", f"experiment.output_dir={out}"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "run"])  # refused before Ray starts
@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_cli_one_line_exit_2_before_work(tmp_path, monkeypatch, capsys, kind, command):
    monkeypatch.chdir(REPO)
    if kind == "file":
        out = tmp_path / "runs"
        out.write_text("x")
    else:
        out = _read_only(tmp_path, monkeypatch)
    code, err = _evaluate(out, capsys, command)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"experiment.output_dir {out}" in err


@pytest.mark.slow
@pytest.mark.parametrize("command", ["evaluate", pytest.param("run", marks=pytest.mark.ray)])
@pytest.mark.parametrize("where", ["report", "predictions"])
def test_full_disk_leaves_no_finished_looking_folder(tmp_path, monkeypatch, capsys, request,
                                                     where, command):
    if command == "run":
        request.getfixturevalue("ray_session")
    monkeypatch.chdir(REPO)
    code, _ = _evaluate(tmp_path, capsys, command)  # a first, successful run
    assert code == 0
    run_dir, = tmp_path.glob("*/[0-9a-f]*")
    assert (run_dir / "metrics.json").exists() and (run_dir / "predictions.parquet").exists()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(run_dir / "x"))

    if where == "report":  # after metrics.json of the re-run is written
        monkeypatch.setattr("fgalign.experiment.report.atomic_write_text", full)
    else:  # while predictions.parquet is merged
        monkeypatch.setattr("fgalign.experiment.finalize.pq.ParquetWriter", full)
    code, err = _evaluate(tmp_path, capsys, command)  # the re-run (every stage cached) fails
    assert code == 2 and "Traceback" not in err
    err = ours(err)  # (a nearly full disk also makes Ray's raylet forward a warning line)
    assert err.endswith("No space left on device") and len(err.splitlines()) == 1, err
    names = {p.name for p in run_dir.iterdir()}
    assert "failed.txt" in names and (run_dir / "failed.txt").read_text().startswith("OSError")
    assert not names & {"metrics.json", "predictions.parquet", "report.md", "stages.json"}
    assert not [n for n in names if n.endswith(".tmp")]
    monkeypatch.undo()
    monkeypatch.chdir(REPO)
    code, _ = _evaluate(tmp_path, capsys, command)  # space again: complete, failed.txt gone
    names = {p.name for p in run_dir.iterdir()}
    assert code == 0 and "failed.txt" not in names and "metrics.json" in names
    json.loads((run_dir / "metrics.json").read_text())
