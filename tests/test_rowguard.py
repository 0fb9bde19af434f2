"""RowGuard: a row that raises is an error row at any batch size; a broken stage still fails."""
import numpy as np
import pytest

from fgalign.config import StageResources
from fgalign.engine.rowguard import RowGuard, StageBroken
from fgalign.engine.runner import run_stages
from fgalign.experiment.plan import StageSpec
from fgalign.load import build_config


class Upper:
    """A stage that adds ``upper`` and raises on any live row whose text holds "BAD"."""

    def __init__(self, broken: bool = False):
        self.broken, self.calls = broken, 0

    def __call__(self, batch):
        self.calls += 1
        live = [not e for e in batch["error"]]
        if any(ok and (self.broken or "BAD" in t) for t, ok in zip(batch["text"], live)):
            raise ValueError("cannot read " + ",".join(batch["uid"]))
        out = dict(batch)
        out["upper"] = np.array([t.upper() if ok else "" for t, ok in zip(batch["text"], live)],
                                dtype=object)
        return out


def batch_of(texts):
    return {"uid": np.array([f"u{i}" for i in range(len(texts))], dtype=object),
            "text": np.array(texts, dtype=object),
            "error": np.array([""] * len(texts), dtype=object)}


@pytest.mark.parametrize("texts, errors", [
    (["BAD"], ["x:ValueError"]),  # a batch of one row
    (["BAD", "BAD", "BAD"], ["x:ValueError"] * 3),  # every row of the batch bad
    (["a", "BAD", "c"], ["", "x:ValueError", ""]),
])
def test_rows_that_raise_become_error_rows(texts, errors):
    guard = RowGuard("x")
    out = guard(Upper(), batch_of(texts))
    assert list(out["error"]) == errors
    assert list(out["upper"]) == [t.upper() if not e else "" for t, e in zip(texts, errors)]
    assert (guard.seen, guard.failed) == (len(texts), errors.count("x:ValueError"))


def test_broken_stage_fails_past_the_share_and_quotes_first_errors():
    guard = RowGuard("keywords", max_failed_share=0.5, min_rows=20)
    stage = Upper(broken=True)
    for start in range(0, 19, 1):  # 19 rows, all raising: not enough rows to judge yet
        out = guard(stage, batch_of([f"t{start}"]))
        assert list(out["error"]) == ["keywords:ValueError"]
    with pytest.raises(StageBroken) as e:
        guard(stage, batch_of(["t19"]))
    msg = str(e.value)
    assert "stage 'keywords' is broken: 20 of 20 rows raised" in msg
    assert "first errors: u0: ValueError: cannot read u0; u0: ValueError" in msg


def test_share_at_the_limit_does_not_fail():
    guard = RowGuard("x", max_failed_share=0.5, min_rows=4)
    out = guard(Upper(), batch_of(["BAD", "a", "BAD", "b"]))  # 2 of 4: not more than half
    assert list(out["error"]) == ["x:ValueError", "", "x:ValueError", ""]
    with pytest.raises(StageBroken, match="3 of 5 rows raised"):
        guard(Upper(), batch_of(["BAD"]))


def _spec(broken=False, **failures):
    cfg = build_config({"ray": {"row_failures": failures}} if failures else {})
    return StageSpec("upper", Upper, {"broken": broken}, cfg.ray.stages["regions"].model_copy(
        update={"batch_size": 1}), "h", cfg.ray.row_failures)


def test_run_stages_isolates_rows_at_batch_size_one():
    rows = [{"uid": f"u{i}", "text": t, "error": ""} for i, t in enumerate(["a", "BAD", "c"])]
    out = run_stages([_spec()], rows)
    assert [r["error"] for r in out] == ["", "upper:ValueError", ""]
    assert [r["upper"] for r in out] == ["A", "", "C"]


def test_run_stages_fails_a_broken_stage_with_the_configured_limit():
    rows = [{"uid": f"u{i}", "text": "t", "error": ""} for i in range(5)]
    assert len(run_stages([_spec(broken=True)], rows)) == 5  # 5 < min_rows 20: error rows
    with pytest.raises(StageBroken, match="5 of 5 rows raised.*at least 5 rows"):
        run_stages([_spec(broken=True, min_rows=5)], rows)


def test_row_failure_limits_are_validated():
    from fgalign.config import ConfigError

    with pytest.raises(ConfigError, match="ray.row_failures.max_share"):
        build_config({"ray": {"row_failures": {"max_share": 1.5}}})
    with pytest.raises(ConfigError, match="ray.row_failures.min_rows"):
        build_config({"ray": {"row_failures": {"min_rows": 0}}})


def test_snli_ve_text_only_rows_survive_a_row_its_extractor_cannot_parse():
    from fgalign.tasks.snli_ve import text_only_input

    class Keywords:  # raises on a batch holding "BAD", like spaCy past nlp.max_length
        def __call__(self, batch):
            live = [not e for e in batch["error"]]
            if any(ok and "BAD" in s[0] for s, ok in zip(batch["statements"], live)):
                raise ValueError("E088 text too long")
            out = dict(batch)
            out["keywords"] = np.array([[s[0].split(), ["red circle"]] if ok else []
                                        for s, ok in zip(batch["statements"], live)] + [None],
                                       dtype=object)[:-1]
            return out

    rows = text_only_input([{"uid": f"u{i}", "text": t, "premise": "a red circle", "target": 0}
                            for i, t in enumerate(["red", "BAD text", "blue"])])
    spec = StageSpec("keywords", Keywords, {}, StageResources(batch_size=32), "h")
    out = run_stages([spec], rows)
    assert [r["uid"] for r in out] == ["u0", "u1", "u2"]
    assert [r["error"] for r in out] == ["", "keywords:ValueError", ""]
