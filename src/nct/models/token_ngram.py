"""A token n-gram model of everything coded before, mixed into a pretrained LLM's integer CDF
(``llm``'s match model 2, the default).

Order: blocks are coded in groups of ``GROUP``, a group's blocks in lockstep (position t of each
block in turn, then position t + 1) and the groups one after another, which is how a decoder steps
them; the encoder walks the same order. Everything below is updated at each coded token, so a
token's prediction depends on exactly the tokens coded before it in that order.

Counts: for every context of 1..``ORDER`` tokens (the tokens before a position, in its block), how
often each token has followed it, over the positions coded so far and no older than ``WINDOW``
groups (memory stays bounded).

Prediction (PPM's blending): the longest context with counts gives each token that followed it
n(x) / (N + E) (N followers in all, E distinct ones) and passes the escape E / (N + E) on to the
next shorter context with counts, and so on for ``DEPTH`` contexts, the last one's followers
getting the escape times n(x) / N. The ``CANDIDATES`` most likely tokens form q, as integers q_x
of a total Q (the rest of Q is the escapes').

Mixing: P(x) = (1 - w) P_llm(x) + w q(x) as integer bonuses on the LLM's CDF of total T: a mass
M = w T / (1 - w) spread over the candidates, B_x = M q_x // Q, so P(x) = (f_x + B_x) / (T + ΣB).
The weight w is one per kind of prediction (the context's length and log2 N) and learns online by
the gradient of the code length, d log P / dw = (q - p) / P, in exact integer arithmetic (a
rational step floored): the encoder and every decoder compute the same bonuses.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Callable, NamedTuple

from ..coding.arithmetic import DEFAULT_PRECISION, max_total
from ..coding.symbols import Bonuses, Interval

ORDER = 4  # longest context, in tokens
DEPTH = 4  # contexts blended, from the longest with counts down
GROUP = 32  # blocks coded in lockstep (a decoder steps exactly these together)
WINDOW = 4  # groups whose counts are kept
CANDIDATES = 32  # tokens a prediction gives a bonus to
COUNT_BITS = 8  # kinds by bit length of N, up to this
W_ONE = 1 << 16  # w is held in units of 1 / W_ONE
W_START, W_MAX = W_ONE * 3 // 10, W_ONE * 98 // 100
RATE = 100  # learning rate 1 / RATE
LIMIT = max_total(DEFAULT_PRECISION)


class Prediction(NamedTuple):
    """What the counts expect at one position: candidates with weights q of ``scale``, and its kind."""

    q: dict[int, int]
    scale: int
    kind: tuple[int, int]


class TokenNgram:
    """The counts, the mixing weights and the order they are updated in (module docstring)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, ...], dict[int, int]] = {}
        self._groups: deque[list[list[int]]] = deque()
        self._weights: dict[tuple[int, int], int] = {}

    def begin(self, blocks: list[list[int]]) -> None:
        """Start the next group, whose blocks' tokens are (or will grow into) these lists."""
        if len(self._groups) == WINDOW:
            for tokens in self._groups.popleft():
                for t in range(1, len(tokens)):
                    self._count(tokens, t, -1)
        self._groups.append(blocks)

    def predict(self, tokens: list[int], t: int) -> Prediction | None:
        """The prediction at position t of a block whose tokens before t are ``tokens[:t]``."""
        q: dict[int, int] = {}
        scale, escape, levels, kind = 1, 1, 0, (0, 0)
        for k in range(min(ORDER, t), 0, -1):
            followers = self._counts.get(tuple(tokens[t - k : t]))
            if not followers:
                continue
            n, levels = sum(followers.values()), levels + 1
            if levels == 1:
                kind = (k, min(n.bit_length(), COUNT_BITS))
            last = levels == DEPTH
            d = n if last else n + len(followers)  # this level's n(x) / (N + E), the last one's n(x) / N
            q = {x: c * d for x, c in q.items()}
            for x, c in followers.items():
                q[x] = q.get(x, 0) + escape * c
            scale, escape = scale * d, escape * len(followers)
            if last:
                break
        if not q:
            return None
        if len(q) > CANDIDATES:
            q = dict(heapq.nlargest(CANDIDATES, q.items(), key=lambda xc: (xc[1], -xc[0])))
        return Prediction(q, scale, kind)

    def bonuses(self, prediction: Prediction | None, total: int) -> Bonuses:
        """The bonuses a prediction gets on a CDF of ``total`` (by increasing token, none zero)."""
        if prediction is None:
            return []
        w = self._weights.get(prediction.kind, W_START)
        mass = min(w * total // (W_ONE - w), LIMIT - total)
        return [(x, b) for x in sorted(prediction.q) if (b := mass * prediction.q[x] // prediction.scale)]

    def learn(self, prediction: Prediction | None, token: int, f: int, total: int, coded: Interval) -> None:
        """Move the prediction's weight along the gradient of the code length of ``token`` (of LLM
        frequency f of ``total``, coded as the mixed interval ``coded``)."""
        if prediction is None:
            return
        q, scale = prediction.q.get(token, 0), prediction.scale
        low, high, mixed_total = coded
        step = W_ONE * (q * total - f * scale) * mixed_total // (RATE * scale * total * (high - low))
        w = self._weights.get(prediction.kind, W_START)
        self._weights[prediction.kind] = min(W_MAX, max(0, w + step))

    def group(self, first: int, rows: list[list[int]]) -> "NgramGroup":
        """Start the next group (blocks numbered ``first``.., whose tokens are or will grow into
        ``rows``), stepped position by position through ``NgramGroup``."""
        self.begin(rows)
        return NgramGroup(self, rows)

    def add(self, tokens: list[int], t: int) -> None:
        """Count position t's token (``tokens[t]``) after each of its contexts."""
        self._count(tokens, t, 1)

    def _count(self, tokens: list[int], t: int, change: int) -> None:
        """Add ``change`` to the count of ``tokens[t]`` after each context before it."""
        x = tokens[t]
        for k in range(1, min(ORDER, t) + 1):
            context = tuple(tokens[t - k : t])
            followers = self._counts.setdefault(context, {})
            c = followers.get(x, 0) + change
            if c:
                followers[x] = c
            else:
                del followers[x]
                if not followers:
                    del self._counts[context]


class NgramGroup:
    """A group's blocks as a lockstep coder steps them: ``bonuses`` for row j at position t, then
    ``learn`` once its token is known (the interface ``TokenMatch.group`` also gives)."""

    def __init__(self, ngram: TokenNgram, rows: list[list[int]]):
        self._ngram, self._rows = ngram, rows
        self._pending: dict[int, Prediction | None] = {}

    def bonuses(self, j: int, t: int, frequency: Callable[[int], int], total: int) -> Bonuses:
        """Row j's bonuses at position t on the LLM's CDF of ``total`` (``frequency`` of a token in
        it: unused here, the counts alone decide)."""
        self._pending[j] = prediction = self._ngram.predict(self._rows[j], t)
        return self._ngram.bonuses(prediction, total)

    def learn(self, j: int, t: int, f: int, total: int, coded: Interval) -> None:
        """Row j's token at t (already in its row), of LLM frequency f, was coded as ``coded``."""
        self._ngram.learn(self._pending.pop(j), self._rows[j][t], f, total, coded)
        self._ngram.add(self._rows[j], t)
