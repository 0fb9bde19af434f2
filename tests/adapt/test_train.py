import pytest
import torch

from fgalign.adapt import TaskStore, fit, leave_one_out, protocol
from fgalign.load import build_config

SIZES = {"train": 150, "val": 60, "test": 120}
TASKS = ("vqa", "snli_ve", "vcr")


@pytest.fixture(scope="module")
def world():
    from toy_world import make_rows

    out = {}
    for j, t in enumerate(TASKS):
        for k, (s, n) in enumerate(SIZES.items()):
            out[(t, s)] = make_rows(t, n if t != "snli_ve" else n // 3, seed=10 * j + k,
                                    distortion=3.0)
    out[("snli_ve", "train_text")] = make_rows("snli_ve", 60, seed=99, distortion=3.0,
                                               text_premise=True)
    return out


def _cfg(**adapt):
    return build_config({"adapt": {"epochs": 4, "batch_size": 32, "lr": 1e-2, "rank": 16,
                                   "bootstrap": 200, **adapt}})


def _store(world, cfg, target, loader=None):
    return TaskStore(loader or (lambda t, s: world[(t, s)]), cfg.align, forbidden=[target])


def test_fit_is_deterministic_given_seed(world):
    cfg = _cfg(epochs=2)
    states = [fit(cfg, cfg.adapt, _store(world, cfg, "vcr"), "vcr", seed=3).model.state_dict()
              for _ in range(2)]
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k


@pytest.mark.parametrize("target", ["snli_ve", "vqa"])
def test_target_is_read_only_by_the_final_evaluation(world, monkeypatch, target):
    events = []

    def loader(task, split):
        events.append(f"read {task}/{split}")
        return world[(task, split)]

    real_eval = protocol.evaluate_target

    def spy_eval(*args, **kwargs):
        events.append("final evaluation")
        return real_eval(*args, **kwargs)

    monkeypatch.setattr(protocol, "evaluate_target", spy_eval)
    cfg = _cfg(epochs=1)
    leave_one_out(cfg, target, _store(world, cfg, target, loader))
    first_target = min(i for i, e in enumerate(events) if e.startswith(f"read {target}"))
    assert "final evaluation" in events[:first_target], events
    assert all(e.split()[1].split("/")[0] != target for e in events[:first_target]
               if e.startswith("read"))


def test_protocol_requires_a_guarded_store(world):
    cfg = _cfg()
    with pytest.raises(ValueError, match="must forbid the target"):
        leave_one_out(cfg, "vqa", TaskStore(lambda t, s: world[(t, s)], cfg.align))


@pytest.mark.parametrize("target", ["vcr", "vqa"])
def test_adaptation_transfers_to_held_out_task(world, target):
    # image-side embeddings share one distortion across tasks: adapting on the two others must
    # undo it for the held-out task beyond the bootstrap interval
    cfg = _cfg()
    res, fit_result = leave_one_out(cfg, target, _store(world, cfg, target))
    assert res["sources"] == [t for t in TASKS if t != target]
    assert res["delta"]["ci95"][0] > 0, {k: v for k, v in res.items() if k != "per_instance"}
    assert fit_result.history[fit_result.best_epoch]["source_val"] == res["source_val"]
    assert sum(g["n"] for g in res["by_question"].values()) <= res["n"]  # per question prefix


def test_by_group_scores_each_question_prefix():
    import numpy as np

    groups = ["what shape"] * 3 + ["how many"] * 2 + ["is there"]
    zs = np.array([100, 100, 0, 0, 100, 100], np.float32)
    ad = np.array([0, 100, 0, 100, 100, 0], np.float32)
    got = protocol.by_group(groups, zs, ad, min_n=2)
    assert got == {"how many": {"n": 2, "zero_shot": 50.0, "adapted": 100.0},
                   "what shape": {"n": 3, "zero_shot": 66.67, "adapted": 33.33}}
