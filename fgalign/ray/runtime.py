"""Start or join Ray, set Ray Data's progress options, check stage resources fit.

    started = init_ray(cfg.ray)      # embedded local cluster, or join cfg.ray.address
    ...
    if started: ray.shutdown()

    lazy = LazyRay(cfg.ray)          # the same, deferred to the first lazy.ensure()
    ...
    lazy.shutdown()                  # only if this process started it

Progress bars: on when ``cfg.ray.progress`` and stderr is a terminal; off in tests and CI
(``RAY_DATA_DISABLE_PROGRESS_BARS=1`` or ``CI`` set), where Ray's 10 s status log is also off.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from fgalign.config import ConfigError, StageResources
from fgalign.schema import IMAGE_STAGES, ROW_STAGES


def progress_enabled(want: bool) -> bool:
    """Progress bars only for people watching a terminal."""
    quiet = os.environ.get("RAY_DATA_DISABLE_PROGRESS_BARS") == "1" or os.environ.get("CI")
    return bool(want and not quiet and sys.stderr.isatty())


def configure_data_context(progress: bool) -> None:
    """Ray Data options: the V1 Parquet reader; progress bars and start-up banners per ``progress``.

    Row order is not preserved through Parquet caches (files come back in any order), so the
    driver puts rows back in input order by ``uid``; execution runs unordered (faster).
    """
    import ray.data

    ctx = ray.data.DataContext.get_current()
    # Parquet through Ray Data's V1 datasource (``ReadParquet``). Ray 2.60 reads through
    # DataSourceV2 by default (``ListFiles -> ReadFiles``), which costs seconds of fixed time
    # per execution on a small cluster (10-row file, 2 CPUs: 5-9 s vs 0.2-0.5 s for V1), and
    # every stage but the first reads the previous stage's cache: about 30 reads per demo run.
    # ``RAY_DATA_USE_DATASOURCE_V2=1`` is Ray's own switch; it is honoured when set (opt-out
    # documented where V2 became the default: ray-project/ray#63326).
    if hasattr(ctx, "use_datasource_v2") and "RAY_DATA_USE_DATASOURCE_V2" not in os.environ:
        ctx.use_datasource_v2 = False
    ctx.enable_progress_bars = progress
    ctx.print_on_execution_start = progress
    if not progress:  # no bars, and no "execution finished" INFO lines per dataset either
        ctx.enable_operator_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)


def init_ray(ray_cfg: Any) -> bool:
    """Connect to ``ray_cfg.address`` or start an embedded cluster; True if this call started it.

    An already-initialised Ray (a test session, a notebook) is reused as it is. With
    ``address=None`` Ray joins a cluster already running on this node (``ray start``, the head
    node under ``ray submit``) or else starts a local one with ``num_cpus`` /
    ``object_store_memory`` from config.
    """
    import ray

    if ray.is_initialized():
        configure_data_context(progress_enabled(ray_cfg.progress))
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING",
                              "configure_logging": True}
    if ray_cfg.address is None:
        if ray_cfg.num_cpus is not None:
            kwargs["num_cpus"] = ray_cfg.num_cpus
        if ray_cfg.object_store_memory is not None:
            kwargs["object_store_memory"] = ray_cfg.object_store_memory
    ray.init(address=ray_cfg.address, **kwargs)
    configure_data_context(progress_enabled(ray_cfg.progress))
    return True


EXECUTIONS = (IMAGE_STAGES,  # images, and the prompts (fgalign.engine.runner.Runner)
              ROW_STAGES)  # rows


def pool_key(res: Any) -> tuple[float, float, int, int | None]:
    """What makes two stages' actors interchangeable: CPUs, GPUs and actors per pool."""
    return (float(res.num_cpus), float(res.num_gpus), int(res.concurrency), res.rows_per_actor)


def pool_actors(res: Any, rows: int) -> int:
    """Actors of a pool whose execution takes ``rows`` input rows (all its input sets).

    ``res.concurrency`` actors, or with ``res.rows_per_actor`` one per that many rows, at
    least one and at most ``res.concurrency``. Each actor imports torch, open_clip and spaCy
    and builds its models before its first chunk (~7 s of CPU on 2 cores), so more actors
    than the work can use only slow the first one down (BENCHMARKS.md).
    """
    if res.rows_per_actor is None:
        return int(res.concurrency)
    return max(1, min(int(res.concurrency), -(-int(rows) // int(res.rows_per_actor))))


def actor_threads(cluster_cpus: float, actors: int) -> int:
    """Torch threads of each actor of an execution on the local cluster: the node's CPUs
    shared among the execution's actors (at least one).

    A pool's ``num_cpus`` is a logical reservation, small so that every pool fits at once,
    and Ray sets ``OMP_NUM_THREADS`` from it: one thread. A lone row actor on two cores then
    embeds and scores on one while the in-process run uses both (BENCHMARKS.md); two row
    actors get one each. ``model.num_threads``, when set, still wins (the stage sets it as
    it builds the model). Thread counts change no value here: every ``metrics.json`` value
    is the same with one or two threads (BENCHMARKS.md).
    """
    return max(1, int(cluster_cpus // max(1, actors)))


def fuse_pools(stages: list[str] | tuple[str, ...], res: dict[str, Any]
               ) -> list[tuple[str, ...]]:
    """The actor pools of one execution: consecutive stage kinds whose resources are equal
    (``pool_key``) share one pool, whose actors run them one after the other on each chunk.

    This is Ray Data's own operator fusion rule (consecutive map operators with compatible
    resources become one, ``ray.data._internal.logical.rules.operator_fusion``) applied to
    fgalign's stateful stages: an actor process and its imports (torch, open_clip, spaCy) are
    paid once per pool, not once per stage, and no chunk crosses a process boundary between
    fused stages. Stages with different resources (a GPU stage next to CPU stages) stay their
    own pools and run at the same time.

    Args:
        stages: stage kinds in graph order.
        res: ``{stage: StageResources}``.

    Returns:
        the pools in graph order, each the tuple of its stage kinds, e.g.
        ``[("regions", "images")]`` when both have the same resources.
    """
    pools: list[tuple[str, ...]] = []
    for s in stages:
        if pools and pool_key(res[pools[-1][-1]]) == pool_key(res[s]):
            pools[-1] = (*pools[-1], s)
        else:
            pools.append((s,))
    return pools


def pool_totals(ray_cfg: Any, stages: list[str] | tuple[str, ...]) -> tuple[float, float]:
    """(CPUs, GPUs) the pools of one execution of ``stages`` hold together (``fuse_pools``),
    each at its most actors (``concurrency``)."""
    res = {s: ray_cfg.stages.get(s, StageResources()) for s in stages}
    pools = fuse_pools(stages, res)
    return (sum(res[p[0]].num_cpus * res[p[0]].concurrency for p in pools),
            sum(res[p[0]].num_gpus * res[p[0]].concurrency for p in pools))


def check_execution_resources(ray_cfg: Any, stages: list[str] | tuple[str, ...],
                              cluster: dict[str, float]) -> None:
    """Fail early when the pools of one execution cannot all run at once on a fixed cluster.

    The pools of an execution run at the same time (``fgalign.ray.executor``), so their CPUs
    and GPUs add up; stages fused into one pool (``fuse_pools``) count once. Its input is in
    the object store (no read task needs a CPU).

    Raises:
        ConfigError: the sum exceeds the cluster's CPUs or GPUs (one line naming every pool;
            a ``ValueError``, an ``InputError``: the command line prints it as one line).
    """

    res = {s: ray_cfg.stages.get(s, StageResources()) for s in stages}
    pools = fuse_pools(stages, res)
    cpus, gpus = pool_totals(ray_cfg, stages)
    have_cpu, have_gpu = cluster.get("CPU", 0.0), cluster.get("GPU", 0.0)
    detail = ", ".join(f"{'+'.join(p)} {res[p[0]].concurrency}x{res[p[0]].num_cpus:g} CPU"
                       + (f" {res[p[0]].num_gpus:g} GPU" if res[p[0]].num_gpus else "")
                       for p in pools)
    if cpus > have_cpu + 1e-9:
        raise ConfigError(f"ray.stages: the pools that run together ({detail}) need {cpus:g} "
                         f"CPUs, the cluster has {have_cpu:g}; lower num_cpus or concurrency")
    if gpus > have_gpu + 1e-9:
        raise ConfigError(f"ray.stages: the pools that run together ({detail}) need {gpus:g} "
                         f"GPUs, the cluster has {have_gpu:g}; set num_gpus: 0 on a machine "
                         "without GPUs")


def check_stage_resources(ray_cfg: Any, cluster: dict[str, float]) -> None:
    """``check_execution_resources`` for both executions a run can start (``EXECUTIONS``)."""
    for stages in EXECUTIONS:
        check_execution_resources(ray_cfg, stages, cluster)


def _drop_cpu_warning(record: logging.LogRecord) -> bool:
    return "does not have any available CPUs" not in str(record.msg)


def silence_cpu_warning() -> None:
    """Drop Ray Data's "no available CPUs, the job will hang" warning.

    Ray Data checks free CPUs at the start of every execution, which catches the moment a
    previous stage's actor is still being released (or the node has not reported yet). Call
    this only after ``check_stage_resources`` has shown the pools fit the cluster.
    """
    logger = logging.getLogger("ray.data.dataset")
    if _drop_cpu_warning not in logger.filters:
        logger.addFilter(_drop_cpu_warning)


class LazyRay:
    """Start (or join) Ray only when first needed: ``ensure()`` before work that needs it.

    On the local embedded cluster ``ensure()`` also checks the stage pools fit
    (``check_stage_resources``). ``up``: Ray is ensured (``used``: it was); ``init_s``: seconds ``ensure()``
    waited for it (the run's cost of Ray's start); ``start_s``: seconds the start itself took;
    ``shutdown()`` stops Ray only if this object started it.

    ``start_early()`` begins the start in a background thread, so that Ray's processes come
    up while the driver imports, reads the data and plans (``fgalign run`` on an empty stage
    cache, where the cluster is certain to be needed: 3-5 s of a cold demo run on 2 cores,
    BENCHMARKS.md); ``ensure()`` then imports Ray Data while it waits for that thread, and
    raises the thread's error. The driver's plan does not import torch
    (``fgalign.align.columns``), so it leaves the cores to Ray's start. Ray sets its
    SIGTERM handler only from the main thread, so ``start_early()`` (called there) sets the
    same one: a terminated driver exits through ``sys.exit`` and Ray's shutdown.
    """

    def __init__(self, ray_cfg: Any):
        self.ray_cfg, self.up, self.started = ray_cfg, False, False
        self.used = False  # ensured at least once (``up`` is False again after a shutdown)
        self.init_s = self.start_s = 0.0
        self._thread: threading.Thread | None = None  # start_early's: holds Ray's processes
        self._ready, self._stop = threading.Event(), threading.Event()  # (new: start_early)
        self._error: BaseException | None = None  # start_early's, raised by ensure()
        self._stopping: threading.Thread | None = None  # shutdown(wait=False)'s

    def _start(self) -> None:
        import ray

        t0 = time.perf_counter()
        try:
            self.started = init_ray(self.ray_cfg)
            if self.ray_cfg.address is None:
                check_stage_resources(self.ray_cfg, ray.cluster_resources())
                silence_cpu_warning()  # checked: every pool leaves a CPU for reads and writes
        except BaseException as e:  # noqa: BLE001 - raised by ensure(), in the caller's thread
            self._error = e
        self.start_s = time.perf_counter() - t0

    def _start_and_hold(self) -> None:
        self._start()
        self._ready.set()
        self._stop.wait()  # Ray's processes die with the thread that started them

    def start_early(self) -> None:
        """Begin starting Ray in a background thread (class docstring); idempotent.

        The thread lives until ``shutdown()``: Ray starts its local processes with the
        parent-death signal (``prctl(PR_SET_PDEATHSIG)``), which Linux sends when the *thread*
        that started them ends, so a thread that returned would take the cluster with it.
        """
        import signal

        if self.up or self._thread is not None:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))
        logging.getLogger("ray._private.worker").addFilter(_drop_sigterm_warning)
        self._ready, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._start_and_hold, name="fgalign-ray-start",
                                        daemon=True)
        self._thread.start()

    def ensure(self) -> None:
        if self._stopping is not None:
            self.shutdown()  # a background stop finishes; Ray starts again below
        if self.up:
            return
        t0 = time.perf_counter()
        if self._thread is None:
            self._start()
        else:
            if not self._ready.is_set():  # Ray Data's import (~0.7 s) beside Ray's start,
                import ray.data  # noqa: F401 - not after it in the start thread
            self._ready.wait()
        self.init_s = time.perf_counter() - t0
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        self.up = self.used = True

    def shutdown(self, wait: bool = True) -> None:
        """Stop Ray if this object started it (idempotent; a later ``ensure()`` starts it
        again). ``wait=False`` stops it in a background thread, so the caller goes on while
        Ray's processes stop (the driver's own steps after the last execution); a later
        ``shutdown()`` or ``ensure()`` waits for that stop. A start still under way is waited
        for first: Ray's agents outlive a process that exits in the middle of it."""
        if self._stopping is not None:  # a background stop under way: it finishes first
            self._stopping.join()
            self._stopping = None
        if wait:
            self._stop_now()
        elif self.started or self._thread is not None:
            self._stopping = threading.Thread(target=self._stop_now, name="fgalign-ray-stop",
                                              daemon=True)
            self._stopping.start()

    def _stop_now(self) -> None:
        if self._thread is not None:
            self._ready.wait()  # a start still under way finishes before it is undone
        if self.started:
            import ray

            ray.shutdown()
        self.started = self.up = False
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None


def _drop_sigterm_warning(record: logging.LogRecord) -> bool:
    return "SIGTERM handler is not set" not in str(record.msg)
