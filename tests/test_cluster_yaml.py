"""cluster.yaml passes the checks `ray up` applies (prepare_config, then validate_config)."""
import copy
from pathlib import Path

import pytest
import yaml

pytest.importorskip("jsonschema")
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_YAML = Path(__file__).parents[1] / "cluster.yaml"


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(CLUSTER_YAML.read_text())


def test_cluster_yaml_validates_like_ray_up(raw):
    config = prepare_config(copy.deepcopy(raw))
    validate_config(config)  # raises jsonschema.ValidationError on a bad config
    assert config["provider"]["type"] == "aws"


def test_head_is_cpu_only_and_gpu_workers_autoscale(raw):
    types = raw["available_node_types"]
    head = types[raw["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    workers = [t for name, t in types.items() if name != raw["head_node_type"]]
    gpu = [t for t in workers if t["resources"].get("GPU", 0) >= 1]
    assert gpu and all(0 <= t["min_workers"] <= t["max_workers"] for t in gpu)


def test_repo_is_mounted_and_installed(raw):
    (remote, local), = raw["file_mounts"].items()
    assert local == "."
    cmds = "\n".join(raw["setup_commands"])
    assert f"pip install -q -e {remote}" in cmds
    assert "download.pytorch.org/whl/cu" in cmds  # CUDA torch wheels, not the CPU default


def test_a_broken_config_is_rejected(raw):
    bad = copy.deepcopy(raw)
    bad["available_node_types"]["gpu_worker"]["min_workers"] = "two"
    with pytest.raises(Exception, match="two"):
        validate_config(prepare_config(bad))
