"""``fgalign list``: the names a config accepts, per registry (as timm's ``list_models``)."""
import pytest

from fgalign.cli import build_parser, main
from fgalign.keywords import EXTRACTORS
from fgalign.models import list_backbones
from fgalign.regions import PROPOSERS
from fgalign.tasks import task_names


@pytest.mark.parametrize("kind, names", [
    ("models", list_backbones), ("proposers", PROPOSERS.list), ("extractors", EXTRACTORS.list),
    ("tasks", task_names)])
def test_list_prints_one_registry_one_name_per_line(kind, names, capsys):
    assert main(["list", kind]) == 0
    assert capsys.readouterr().out.split() == names()


def test_list_without_kind_prints_every_registry_under_a_heading(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for line in ("models:", "  shapes-tiny", "proposers:", "  segment", "extractors:",
                 "  rule", "tasks:", "  vqa", "  snli_ve", "  vcr"):
        assert line + "\n" in out, out


def test_list_filter_and_open_clip(capsys):
    assert main(["list", "models", "--open-clip", "--filter", "ViT-B-3*"]) == 0
    out = capsys.readouterr().out.split()
    assert "ViT-B-32" in out and "shapes-tiny" not in out


def test_list_is_a_verb_of_the_help():
    assert "list registered models, proposers, extractors or tasks" in \
        build_parser().format_help()
    with pytest.raises(SystemExit):
        main(["list", "detectors"])  # argparse: invalid choice, exit status 2
