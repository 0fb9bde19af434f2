import pytest
import torch

import fgalign.adapt.protocol as protocol
from fgalign.adapt import TaskStore, fit, leave_one_out
from fgalign.config import build_config

SIZES = {"train": 160, "val": 60, "test": 120}
CANDS = {"vqa": 5, "snli_ve": 3, "vcr": 4}


@pytest.fixture
def world(toy_rows):
    return {(t, s): toy_rows(t, n, CANDS[t], seed=10 * j + k, distortion=3.0)
            for j, t in enumerate(CANDS) for k, (s, n) in enumerate(SIZES.items())}


def _cfg(**adapt):
    return build_config({"adapt": {"epochs": 4, "batch_size": 32, "lr": 3e-3, "rank": 16,
                                   "bootstrap": 200, **adapt}})


def test_fit_is_deterministic_given_seed(toy_rows):
    cfg = _cfg(epochs=2)
    small = {(t, s): toy_rows(t, 40, CANDS[t], seed=j) for j, t in enumerate(CANDS)
             for s in ("train", "val")}
    states = []
    for _ in range(2):
        store = TaskStore(lambda t, s: small[(t, s)], forbidden=["vcr"])
        states.append(fit(cfg, cfg.adapt, store, "vcr", seed=3).model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k


def test_target_is_read_only_by_the_final_evaluation(world, monkeypatch):
    events = []

    def loader(task, split):
        events.append(f"read {task}/{split}")
        return world[(task, split)]

    real_eval = protocol.evaluate_target

    def spy_eval(*args, **kwargs):
        events.append("final evaluation")
        return real_eval(*args, **kwargs)

    monkeypatch.setattr(protocol, "evaluate_target", spy_eval)
    store = TaskStore(loader, forbidden=["snli_ve"])
    leave_one_out(_cfg(epochs=1), "snli_ve", store)
    first_target = min(i for i, e in enumerate(events) if e.startswith("read snli_ve"))
    assert events.index("final evaluation") < first_target, events
    assert events[first_target] == "read snli_ve/test"  # only the evaluation split, once
    assert sum(e.startswith("read snli_ve") for e in events) == 1


def test_protocol_requires_a_guarded_store(world):
    with pytest.raises(ValueError, match="must forbid the target"):
        leave_one_out(_cfg(), "vqa", TaskStore(lambda t, s: world[(t, s)]))


def test_adaptation_transfers_to_held_out_task(world):
    # image-side embeddings share one distortion across tasks: adapting on vqa + snli_ve must
    # undo it for vcr beyond the bootstrap interval
    res, fit_result = leave_one_out(_cfg(), "vcr", TaskStore(lambda t, s: world[(t, s)],
                                                               forbidden=["vcr"]))
    assert res["sources"] == ["vqa", "snli_ve"] and res["n"] == SIZES["test"]
    assert res["delta"]["ci95"][0] > 0, res
    assert fit_result.history[fit_result.best_epoch]["source_val"] == res["source_val"]
