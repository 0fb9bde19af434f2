"""Safe loading: no pickle-capable loads, safe YAML into validated configs, paths stay in root.

The source scan parses every module of ``fgalign/`` and ``pipelines/`` and lists each call
that can run code from a file: ``torch.load`` without ``weights_only=True``, ``pickle`` /
``dill`` / ``cloudpickle`` / ``joblib`` loads, ``yaml.load`` / ``unsafe_load`` / ``full_load``,
``np.load(allow_pickle=True)``, ``pandas.read_pickle`` and ``open_clip.load_checkpoint`` without
``weights_only=True``. Checkpoints must go through safetensors or ``weights_only=True``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fgalign.config import ConfigError
from fgalign.config_files import load_any_config
from fgalign.load import load_config

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(REPO / "fgalign").rglob("*.py"), *(REPO / "pipelines").rglob("*.py")])

# module attribute → loads that can execute code unless made safe
UNSAFE_ALWAYS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"),
                 ("cloudpickle", "load"), ("cloudpickle", "loads"), ("dill", "load"),
                 ("dill", "loads"), ("joblib", "load"), ("yaml", "load"),
                 ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"),
                 ("pd", "read_pickle"), ("pandas", "read_pickle"), ("torch", "loads")}
NEED_WEIGHTS_ONLY = {("torch", "load"), ("open_clip", "load_checkpoint")}


def _dotted(node: ast.AST) -> tuple[str, str] | None:
    """``a.b.c(...)`` → ("b", "c") (the last two names); ``f(...)`` → ("", "f")."""
    if isinstance(node, ast.Attribute):
        inner = node.value
        base = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
        return base, node.attr
    if isinstance(node, ast.Name):
        return "", node.id
    return None


def _kw_is_true(call: ast.Call, name: str) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in call.keywords)


def unsafe_calls(path: Path) -> list[str]:
    """``"file:line: call"`` for every unsafe load call in one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None:
            continue
        where = f"{path.relative_to(REPO)}:{node.lineno}: {'.'.join(filter(None, name))}"
        if name in UNSAFE_ALWAYS:
            found.append(where)
        elif name in NEED_WEIGHTS_ONLY and not _kw_is_true(node, "weights_only"):
            found.append(where + " without weights_only=True")
        elif name[1] == "load" and name[0] in ("np", "numpy") and _kw_is_true(node, "allow_pickle"):
            found.append(where + " with allow_pickle=True")
    return found


def test_scan_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch, pickle, yaml, numpy as np\n"
                   "torch.load('x')\ntorch.load('x', weights_only=False)\n"
                   "pickle.loads(b'')\nyaml.load('a')\nnp.load('x', allow_pickle=True)\n"
                   "torch.load('x', weights_only=True)\nyaml.safe_load('a')\n")
    global REPO
    old, REPO = REPO, tmp_path
    try:
        assert len(unsafe_calls(bad)) == 5
    finally:
        REPO = old


def test_no_unsafe_loads_in_library_or_pipelines():
    assert len(SOURCES) > 20
    found = [hit for p in SOURCES for hit in unsafe_calls(p)]
    assert not found, "unsafe loads (use safetensors or weights_only=True):\n" + "\n".join(found)


def test_yaml_tags_are_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    cfg = tmp_path / "evil.yaml"
    cfg.write_text(f"experiment:\n  name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(cfg)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["sweeps", "ablations"])
def test_spec_files_reject_unknown_keys(tmp_path, kind):
    spec_dir = tmp_path / kind
    spec_dir.mkdir()
    (tmp_path / "base.yaml").write_text("data:\n  root: /nowhere\n")
    spec = spec_dir / "s.yaml"
    spec.write_text("base: ../base.yaml\nnot_a_field: 1\n")
    with pytest.raises(Exception, match="not_a_field"):
        load_any_config(spec)


@pytest.mark.parametrize("rel", ["../outside.png", "a/../../outside.png", "/etc/passwd",
                                 "link/escaped.png"])
def test_image_paths_cannot_escape_root(tmp_path, rel):
    from fgalign.regions.crops import ImageLoadError, load_rgb

    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.png").write_bytes(b"not read")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "escaped.png").write_bytes(b"not read")
    (root / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ImageLoadError) as err:
        load_rgb(root, rel)
    assert err.value.reason == "path_escapes_root"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "../../../x.jpg",
                                  "a/../../x.png", "C:\\x.jpg"])
def test_dataset_file_names_cannot_escape_root(tmp_path, name):
    """An annotation naming an image outside the root becomes an error row, never a read."""
    import json

    from fgalign.tasks import read_task

    line = {"Flikr30kID": name, "gold_label": "entailment", "pairID": "p0",
            "sentence1": "A red circle.", "sentence2": "There is a circle.",
            "annotator_labels": ["entailment"], "captionID": "c0"}
    (tmp_path / "snli_ve_dev.jsonl").write_text(json.dumps(line) + "\n")
    rows = read_task("snli_ve", tmp_path, "dev")
    assert len(rows) == 1
    if rows[0]["error"]:
        assert rows[0]["error"] == "read:unsafe_path" and rows[0]["image_path"] == ""
    else:  # a name like a/../../x.png may normalise to a path that is still inside the root
        resolved = (tmp_path / rows[0]["image_path"]).resolve()
        assert tmp_path.resolve() in resolved.parents
