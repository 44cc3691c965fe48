"""Tokenizing on a Ray cluster (``nct tokenize --engine ray``): the local engine's shards, byte for byte.

Ray Data reads the inputs: one read task per input (a file of a streamed corpus) cuts its examples
by the recipe and sends each part (a chunk's examples) on in equal pieces of at most ``batch``
examples, as the local engine splits a chunk over its processes. An actor pool, one actor per CPU,
each holding the tokenizer (and with it M1), codes one piece per call, its examples in lockstep.
With ``device`` (``"cuda"``), there is one actor per GPU of the cluster instead, each asking Ray for
a GPU of its own (``num_gpus=1``) and moving M1 there (``M1.to``): the portable engine, the same
tokens. A GPU wants thousands of examples per call, more than a part holds, so an actor then takes
several whole parts per call (``batch`` examples in all) and codes them in one lockstep batch.
The driver writes a part as the chunk the local engine would write once all its pieces are back,
through the same ``ShardWriter``; tokens do not depend on the batch (invariant 2, README), so the
output is the local engine's whatever the number of actors or the order pieces come back in.

Ray restarts an actor that dies and retries its piece; chunks are named by input and part, so a
retried piece is never written twice and none is lost (the driver checks every part came back).
A resumed run skips finished inputs unread and finished chunks uncoded. Inputs are read where the
read tasks run, so on a cluster their paths must be the same on every node (a shared filesystem);
the shards are written by the driver, the process that runs ``nct tokenize``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..cluster import RayConfig, actor_resources, session
from ..data.shards import InputShard, Recipe, ShardWriter, pack, parts
from ..parallel import serial, split_evenly
from .base import Tokenizer


def tokenize_on_ray(
    inputs: Sequence[InputShard],
    limits: Sequence[int | None],
    recipe: Recipe,
    build_tokenizer: Callable[..., Tokenizer],
    writer: ShardWriter,
    config: RayConfig,
    progress: Callable[[int], object] | None = None,
) -> None:
    """Tokenize the first ``limits[s]`` examples (None: all) of every input ``s`` not done yet into
    ``writer``, on the cluster of ``config``. ``build_tokenizer`` (picklable) makes each actor's tokenizer, called with
    ``device=config.device`` (``nct.tokenizers.build``'s: M1 moved there unless None)."""
    work = {s: (limit, frozenset(writer.parts_done(s))) for s, limit in enumerate(limits) if limit != 0 and not writer.done(s)}
    if not work:
        return
    with session(config) as ray:
        rows = _pipeline(ray, inputs, work, recipe, build_tokenizer, writer.dtype, config)
        assembled = _Parts(writer, progress)
        for batch in rows:
            assembled.add(batch)
        assembled.check(work)


def _pipeline(ray: Any, inputs: Sequence[InputShard], work: dict, recipe: Recipe, build_tokenizer: Callable[..., Tokenizer],
              dtype: np.dtype, config: RayConfig) -> Iterator[dict[str, np.ndarray]]:
    """Batches of coded pieces as they come back: read tasks (one per input) -> the actor pool."""
    actors, resources = actor_resources(config, ray.cluster_resources())
    batch = config.lockstep
    ds = ray.data.from_items([{"shard": s} for s in work], override_num_blocks=len(work))
    ds = ds.flat_map(_read_pieces, fn_kwargs={"inputs": inputs, "work": work, "recipe": recipe, "batch": batch},
                     num_cpus=0, compute=ray.data.TaskPoolStrategy(size=min(len(work), actors)))
    ds = ds.map_batches(_Coder, fn_constructor_kwargs={"build_tokenizer": build_tokenizer, "dtype": dtype.str, "device": config.device},
                        batch_size=max(1, batch // recipe.chunk), batch_format="numpy", **resources,
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
    """An actor: one tokenizer (its M1 on ``device``, if given), one thread; the pieces of a call
    coded together, in one lockstep batch."""

    def __init__(self, build_tokenizer: Callable[..., Tokenizer], dtype: str, device: str | None) -> None:
        serial()
        self.tok = build_tokenizer(device=device)
        self.dtype = np.dtype(dtype)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The ids of every piece of the batch (and its offsets), beside its keys and sizes."""
        pieces = []
        for data, sizes in zip(batch["data"], batch["sizes"]):
            ends = np.cumsum(np.frombuffer(sizes, dtype=np.int64)).tolist()
            pieces.append([data[a:b] for a, b in zip([0, *ends[:-1]], ends)])
        texts = [t for piece in pieces for t in piece]
        ids = self.tok.encode_result(texts).ids if texts else []
        tokens, offsets, at = [], [], 0
        for piece in pieces:
            flat, offs = pack(ids[at : at + len(piece)], self.dtype)
            tokens.append(flat.tobytes())
            offsets.append(offs.tobytes())
            at += len(piece)
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
