"""``RayExecutor.schedule``: the images and the rows executions at the same time when the
pools of both fit the cluster (the test session's: 2 CPUs, 1 GPU), else one after the other."""
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.slow


def _plans(*stages):
    from fgalign.engine.chunks import SetPlan, Step

    return [SetPlan(0, "t", "s", 1, [Step(SimpleNamespace(name=s), "", "") for s in stages], [])]


def test_schedule_overlaps_when_both_fit(ray_session):
    from fgalign.config import RayCfg, StageResources
    from fgalign.ray.executor import RayExecutor

    images, rows = _plans("regions", "images"), _plans("candidates", "keywords", "embed", "score")

    def schedule(**gpus):
        stages = {s: StageResources(num_gpus=gpus.get(s, 0.0))
                  for s in ("regions", "images", "candidates", "keywords", "embed", "score")}
        return RayExecutor(RayCfg(stages=stages)).schedule(images, rows)

    assert schedule() == "overlap"  # 0.25 + 0.25 CPU
    assert schedule(embed=0.5) == "overlap"  # embed its own pool: 1.0 CPU, 0.5 GPU in all
    assert schedule(images=1.0, embed=1.0) == "sequential"  # 2 GPUs at once: not here
