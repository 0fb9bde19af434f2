"""``by_family`` of the adaptation result: target instances grouped by contrast family."""
import json

from toy_world import make_rows

from fgalign.adapt import TaskStore
from fgalign.adapt.protocol import family_groups
from fgalign.data.synth.contrast import read_contrasts
from fgalign.load import build_config

LETTERS = "enc"  # SNLI-VE labels 0, 1, 2 → pairID suffix


def _write(root, records):
    (root / "contrasts_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_read_contrasts_marks_disagreeing_instances_mixed(tmp_path):
    assert read_contrasts(tmp_path, "test") is None  # a real dataset has no contrast file
    _write(tmp_path, [{"task": "vcr_q2a", "id": "a", "family": "size"},
                      {"task": "vcr_q2a", "id": "a", "family": "size"},
                      {"task": "vcr_q2a", "id": "b", "family": "size"},
                      {"task": "vcr_q2a", "id": "b", "family": "count"},
                      {"task": "vqa", "id": 7, "family": "color"}])
    assert read_contrasts(tmp_path, "test") == {"vcr_q2a": {"a": "size", "b": "mixed"},
                                                 "vqa": {"7": "color"}}


def test_family_groups_per_target(tmp_path):
    cfg = build_config({"data": {"root": str(tmp_path), "split": "test"}})
    vqa = [{**r, "question_id": 100 + i} for i, r in enumerate(make_rows("vqa", 3, seed=0))]
    vcr = [{**r, "annot_id": f"test-{i}"} for i, r in enumerate(make_rows("vcr", 2, seed=1))]
    snli = [{**r, "pair_id": f"img{i // 3}.png#0r1{LETTERS[r['target']]}"}
            for i, r in enumerate(make_rows("snli_ve", 2, seed=2))]
    _write(tmp_path, [{"task": "vqa", "id": 100, "family": "count"},
                      {"task": "vqa", "id": 101, "family": "shape"},
                      {"task": "vcr_q2a", "id": "test-1", "family": "relation"},
                      {"task": "snli_ve", "id": "img0.png#0r1c", "family": "size"},
                      {"task": "snli_ve", "id": "img1.png#0r1c", "family": "color"}])
    rows = {("vqa", "test"): vqa, ("vcr", "test"): vcr, ("snli_ve", "test"): snli}
    store = TaskStore(lambda t, s: rows[(t, s)], cfg.align)
    assert family_groups(cfg, store, "vqa") == ["count", "shape", "unknown"]
    assert family_groups(cfg, store, "vcr") == ["unknown", "relation"]  # Q→A items only
    assert family_groups(cfg, store, "snli_ve") == ["size", "neutral", "size",
                                                    "color", "neutral", "color"]
    no_file = build_config({"data": {"root": str(tmp_path / "real"), "split": "test"}})
    assert family_groups(no_file, store, "vqa") is None
