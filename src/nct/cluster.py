"""A Ray cluster for one run of nct's Ray engines (``nct tokenize --engine ray``, ``nct bench --engine
ray``): which cluster and how wide (``RayConfig``), what each actor asks for, and a session that
joins or starts the cluster, keeps Ray Data's console output out of the way, turns an error a task
or actor raised from bad input back into nct's own, and shuts down a cluster it started."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import NctError, UsageError


@dataclass(frozen=True)
class RayConfig:
    """Which cluster and how wide. ``address`` None starts a local cluster of ``cpus`` CPUs (default:
    this machine's cores) for the run; ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` joins a
    running one. ``device``: None runs M1's CPU engines, one actor per CPU of the cluster; ``"cuda"``
    one actor per GPU, each on a GPU of its own (``"cpu"``: the portable engine on CPU actors).
    ``actors``: how many (default: as ``device`` says); ``batch``: the most examples a tokenizer
    actor codes in lockstep per call (default: 128 on CPUs, 4096 on GPUs)."""

    address: str | None = None
    cpus: int | None = None
    actors: int | None = None
    batch: int | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        for name in ("cpus", "actors", "batch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"RayConfig.{name} must be at least 1, not {value}")
        if self.device not in (None, "cpu", "cuda"):
            raise UsageError(f"Ray actors run on cpu or cuda, not {self.device!r} (each GPU actor is given a GPU of its own)")

    @property
    def lockstep(self) -> int:
        """Examples an actor codes per call."""
        return self.batch or (GPU_BATCH if self.device == "cuda" else CPU_BATCH)


CPU_BATCH, GPU_BATCH = 128, 4096  # RayConfig.batch's defaults


def actor_resources(config: RayConfig, cluster: dict[str, float]) -> tuple[int, dict[str, float]]:
    """How many actors and what each asks Ray for, on a cluster with these resources: one CPU each,
    one per CPU; on ``"cuda"``, one per GPU, each with a GPU (a ``UsageError`` if there is none)."""
    if config.device != "cuda":
        return config.actors or max(1, int(cluster.get("CPU", 1))), {"num_cpus": 1}
    gpus = int(cluster.get("GPU", 0))
    if gpus < 1:
        raise UsageError("the Ray cluster has no GPU for actors on cuda (start its nodes where CUDA is, or leave out --device)")
    return config.actors or gpus, {"num_cpus": 1, "num_gpus": 1}


def import_ray() -> Any:
    """The ray module (with Ray Data), or a usage error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the engines' readers and actor pools
    except ImportError:
        raise UsageError("the ray engine needs Ray: pip install 'nct[ray]'") from None
    return ray


@contextmanager
def session(config: RayConfig) -> Iterator[Any]:
    """The ray module, connected to ``config``'s cluster (a local one started for the run if Ray is
    not running here and no address is given; shut down after). An ``NctError`` raised in a task or
    an actor comes out as itself, not wrapped in Ray's errors."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started and config.address is None:  # Ray runs workers at nice 15; here they are the work, as the local engine's
        ray.init(num_cpus=config.cpus, _system_config={"worker_niceness": 0}, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    elif started:
        ray.init(address=config.address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        _configure(ray)
        yield ray
    except Exception as e:
        cause = user_error(e)
        if cause is None:
            raise
        raise cause from None
    finally:
        if started:
            ray.shutdown()


def _configure(ray: Any) -> None:
    """Rows as blocks of their own; no progress bars or execution reports from Ray Data on the
    console (nct shows its own bar; Ray's logs stay in the session's log directory)."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.target_max_block_size = 1  # every row (a piece of work of seconds) a block of its own, so that they spread over the actors
    for handler in logging.getLogger("ray.data").handlers:
        if type(handler).__name__ != "SessionFileHandler":
            handler.setLevel(logging.CRITICAL + 1)


def user_error(e: BaseException) -> NctError | None:
    """The ``NctError`` a task or actor raised (bad input, a model that does not load), if that is what ``e`` carries."""
    while e is not None:
        cause = getattr(e, "cause", None)
        if isinstance(cause, NctError):
            return cause
        if isinstance(e, NctError) and type(e).__module__.startswith("nct."):
            return e
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return None
