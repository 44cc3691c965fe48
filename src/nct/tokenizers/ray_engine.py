"""Tokenizing on a Ray cluster (``nct tokenize --engine ray``): the local engine's shards, byte for byte.

Ray Data reads the inputs: one read task per input (a file of a streamed corpus) cuts its examples
by the recipe and sends each part (a chunk's examples) on in equal pieces of at most ``batch``
examples, as the local engine splits a chunk over its processes. An actor pool, one actor per CPU,
each holding the tokenizer (and with it M1), codes one piece per call, its examples in lockstep.
The driver writes a part as the chunk the local engine would write once all its pieces are back,
through the same ``ShardWriter``; tokens do not depend on the batch (DESIGN invariant 2), so the
output is the local engine's whatever the number of actors or the order pieces come back in.

Ray restarts an actor that dies and retries its piece; chunks are named by input and part, so a
retried piece is never written twice and none is lost (the driver checks every part came back).
A resumed run skips finished inputs unread and finished chunks uncoded. Inputs are read where the
read tasks run, so on a cluster their paths must be the same on every node (a shared filesystem);
the shards are written by the driver, the process that runs ``nct tokenize``.

M1's exact engine runs on CPUs only, so every actor asks for one CPU; a GPU is of no use to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..data.shards import InputShard, Recipe, ShardWriter, pack, parts
from ..errors import NctError, UsageError
from ..parallel import serial, split_evenly
from .base import Tokenizer


@dataclass(frozen=True)
class RayConfig:
    """Which cluster and how wide. ``address`` None starts a local cluster of ``cpus`` CPUs (default:
    this machine's cores) for the run; ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` joins a
    running one. ``actors``: tokenizer actors (default: one per CPU of the cluster); ``batch``: the
    most examples an actor codes in lockstep per call."""

    address: str | None = None
    cpus: int | None = None
    actors: int | None = None
    batch: int = 128

    def __post_init__(self) -> None:
        for name in ("cpus", "actors", "batch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"RayConfig.{name} must be at least 1, not {value}")


def tokenize_on_ray(
    inputs: Sequence[InputShard],
    limits: Sequence[int | None],
    recipe: Recipe,
    build_tokenizer: Callable[[], Tokenizer],
    writer: ShardWriter,
    config: RayConfig,
    progress: Callable[[int], object] | None = None,
) -> None:
    """Tokenize the first ``limits[s]`` examples (None: all) of every input ``s`` not done yet into
    ``writer``, on the cluster of ``config``. ``build_tokenizer`` (picklable) makes each actor's tokenizer."""
    ray = _import_ray()
    work = {s: (limit, frozenset(writer.parts_done(s))) for s, limit in enumerate(limits) if limit != 0 and not writer.done(s)}
    if not work:
        return
    started = not ray.is_initialized()
    if started and config.address is None:  # Ray runs workers at nice 15; here they are the work, as the local engine's
        ray.init(num_cpus=config.cpus, _system_config={"worker_niceness": 0}, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    elif started:
        ray.init(address=config.address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        _configure(ray)
        rows = _pipeline(ray, inputs, work, recipe, build_tokenizer, writer.dtype, config)
        assembled = _Parts(writer, progress)
        for batch in rows:
            assembled.add(batch)
        assembled.check(work)
    except Exception as e:
        cause = _user_error(e)
        if cause is None:
            raise
        raise cause from None
    finally:
        if started:
            ray.shutdown()


def _import_ray() -> Any:
    """The ray module, or a usage error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the engine's reader and actor pool
    except ImportError:
        raise UsageError("the ray engine needs Ray: pip install 'nct[ray]'") from None
    return ray


def _configure(ray: Any) -> None:
    """Pieces as blocks of their own; no progress bars or execution reports from Ray Data on the
    console (nct shows its own bar; Ray's logs stay in the session's log directory)."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.target_max_block_size = 1  # every piece a block of its own, so that pieces spread over the actors
    for handler in logging.getLogger("ray.data").handlers:
        if type(handler).__name__ != "SessionFileHandler":
            handler.setLevel(logging.CRITICAL + 1)


def _pipeline(ray: Any, inputs: Sequence[InputShard], work: dict, recipe: Recipe, build_tokenizer: Callable[[], Tokenizer],
              dtype: np.dtype, config: RayConfig) -> Iterator[dict[str, np.ndarray]]:
    """Batches of coded pieces as they come back: read tasks (one per input) -> the actor pool."""
    actors = config.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    ds = ray.data.from_items([{"shard": s} for s in work], override_num_blocks=len(work))
    ds = ds.flat_map(_read_pieces, fn_kwargs={"inputs": inputs, "work": work, "recipe": recipe, "batch": config.batch},
                     num_cpus=0, compute=ray.data.TaskPoolStrategy(size=min(len(work), actors)))
    ds = ds.map_batches(_Coder, fn_constructor_kwargs={"build_tokenizer": build_tokenizer, "dtype": dtype.str},
                        batch_size=1, batch_format="numpy", num_cpus=1,
                        # one piece at a time per actor: a piece is seconds of work, so a queue of them at the
                        # first actor to start (Ray's default is 4) only leaves the others idle at the end
                        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1))
    return ds.iter_batches(batch_size=None, batch_format="numpy")


def _read_pieces(row: dict, inputs: Sequence[InputShard], work: dict, recipe: Recipe, batch: int) -> Iterator[dict]:
    """The pieces of the parts of one input that are not written yet, then one closing row
    (``pieces`` 0) whose ``part`` is the input's number of parts."""
    s = int(row["shard"])
    limit, skip = work[s]
    n = 0
    for n, texts in enumerate(parts(inputs[s], recipe, limit), 1):
        if n - 1 in skip:
            continue
        pieces = split_evenly(texts, -(-len(texts) // batch))
        for k, piece in enumerate(pieces):
            sizes = np.array([len(t) for t in piece], dtype=np.int64)
            yield {"shard": s, "part": n - 1, "piece": k, "pieces": len(pieces), "data": b"".join(piece), "sizes": sizes.tobytes()}
    yield {"shard": s, "part": n, "piece": 0, "pieces": 0, "data": b"", "sizes": b""}


class _Coder:
    """An actor: one tokenizer, one thread, a piece per call."""

    def __init__(self, build_tokenizer: Callable[[], Tokenizer], dtype: str) -> None:
        serial()
        self.tok = build_tokenizer()
        self.dtype = np.dtype(dtype)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The ids of every piece of the batch (and its offsets), beside its keys and sizes."""
        tokens, offsets = [], []
        for data, sizes in zip(batch["data"], batch["sizes"]):
            ends = np.cumsum(np.frombuffer(sizes, dtype=np.int64)).tolist()
            texts = [data[a:b] for a, b in zip([0, *ends[:-1]], ends)]
            flat, offs = pack(self.tok.encode_result(texts).ids if texts else [], self.dtype)
            tokens.append(flat.tobytes())
            offsets.append(offs.tobytes())
        keys = {k: batch[k] for k in ("shard", "part", "piece", "pieces", "sizes")}
        return {**keys, "tokens": np.array(tokens, dtype=object), "offsets": np.array(offsets, dtype=object)}


class _Parts:
    """The driver's side: pieces gathered by part, each complete part written as its chunk, and an
    input's number of parts recorded once its closing row and all its parts are in."""

    def __init__(self, writer: ShardWriter, progress: Callable[[int], object] | None) -> None:
        self.writer, self.progress = writer, progress
        self.pending: dict[tuple[int, int], dict[int, tuple[bytes, bytes, bytes]]] = {}
        self.written = {(s, p) for s in range(len(writer.manifest.inputs)) for p in writer.parts_done(s)}
        self.ends: dict[int, int] = {}

    def add(self, batch: dict[str, np.ndarray]) -> None:
        """Take one batch of coded pieces (or closing rows)."""
        for i in range(len(batch["shard"])):
            s, p, pieces = int(batch["shard"][i]), int(batch["part"][i]), int(batch["pieces"][i])
            if pieces == 0:
                self.ends[s] = p
            elif (s, p) not in self.written:  # a piece of a part written already is a retry's duplicate
                got = self.pending.setdefault((s, p), {})
                got[int(batch["piece"][i])] = (batch["tokens"][i], batch["offsets"][i], batch["sizes"][i])
                if len(got) == pieces:
                    self._write(s, p, [got[k] for k in range(pieces)])
            if s in self.ends and all((s, q) in self.written for q in range(self.ends[s])):
                self.writer.set_parts(s, self.ends[s])

    def _write(self, s: int, p: int, pieces: list[tuple[bytes, bytes, bytes]]) -> None:
        """Join a part's pieces into its chunk and write it."""
        del self.pending[(s, p)]
        tokens = np.concatenate([np.frombuffer(t, dtype=self.writer.dtype) for t, _, _ in pieces])
        starts = np.cumsum([0] + [len(t) // self.writer.dtype.itemsize for t, _, _ in pieces[:-1]])
        offsets = np.concatenate([[0]] + [np.frombuffer(o, dtype=np.int64)[1:] + a for (_, o, _), a in zip(pieces, starts)])
        lengths = np.concatenate([np.frombuffer(z, dtype=np.int64) for _, _, z in pieces])
        self.writer.write(s, p, tokens, offsets.astype(np.int64), lengths)
        self.written.add((s, p))
        if self.progress:
            self.progress(int(lengths.sum()))

    def check(self, work: dict) -> None:
        """Every input of the run closed and no piece left over (else Ray lost work: a bug)."""
        missing = [s for s in work if s not in self.ends]
        if self.pending or missing:
            raise RuntimeError(f"Ray returned no pieces for parts {sorted(self.pending)[:5]} / no end for inputs {missing[:5]}")


def _user_error(e: BaseException) -> NctError | None:
    """The ``NctError`` a task or actor raised (bad input, a model that does not load), if that is what ``e`` carries."""
    while e is not None:
        cause = getattr(e, "cause", None)
        if isinstance(cause, NctError):
            return cause
        if isinstance(e, NctError) and type(e).__module__.startswith("nct."):
            return e
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return None
