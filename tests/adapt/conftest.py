import pytest
from toy_world import make_rows


@pytest.fixture
def toy_rows():
    """``make_rows(task, n, n_cands, seed, distortion=...)`` of the toy embedded world."""
    return make_rows
