"""A match model over a pretrained LLM's tokens, mixed into the engine's integer CDF (``llm``'s
match model 1, the first version: archives that say ``match: 1``; ``nct.models.token_ngram`` is 2).

Prediction: for block b at position t, the block's last ``ORDER`` tokens are looked up among the
occurrences that a lockstep decoder has seen whatever its batch: positions before t of block b
and of the ``SEARCH_BLOCKS`` blocks before it (its own block first, then the nearest earlier one;
in each the latest occurrence). The predicted token is the one that followed there; the match
length is how far back the two contexts agree (at most ``MAX_LENGTH``). Blocks stay independent
in the only sense decoding needs: block b at step t depends on nothing a decoder stepping any
number of blocks together has not decoded yet.

Mixing: the predicted token m, of frequency f in the LLM's CDF of total T, gets a bonus B:
P(m) = (f + B) / (T + B) and every other token's probability times T / (T + B), the linear
mixture (1 - w) P_llm + w [m] with w = B / (T + B). B makes P(m) the block's running estimate
h / n of how often predictions like this one (the same length bucket and bucket of f / T) came
true: B = (h T - n f) // (n - h) where that is positive, else 0 (counts start at 1 in 2, so
n > h), capped so that the coder's total stays within its limit. Integer arithmetic only, so the
encoder and every decoder compute the same B.
"""

from __future__ import annotations

import bisect
from typing import Callable

from ..coding.arithmetic import DEFAULT_PRECISION, max_total
from ..coding.symbols import Bonuses, Interval

ORDER = 4  # tokens of context a prediction is looked up by
MAX_LENGTH = 16  # match lengths counted up to this (the longest bucket)
SEARCH_BLOCKS = 64  # earlier blocks searched for a match
SHARE_EDGES = (100, 300, 500, 700, 900, 970)  # buckets of the LLM's f / T, in thousandths
LIMIT = max_total(DEFAULT_PRECISION)

Prediction = tuple[int, int]  # (token, match length)


class TokenMatch:
    """The occurrences of every ``ORDER``-token context in the blocks seen so far (module docstring)."""

    def __init__(self) -> None:
        self._blocks: dict[int, list[int]] = {}
        self._seen: dict[int, dict[tuple[int, ...], list[int]]] = {}  # per block: context -> positions

    def track(self, block: int, tokens: list[int]) -> None:
        """Follow block number ``block`` whose tokens are (or will grow into) the list ``tokens``."""
        self._blocks[block], self._seen[block] = tokens, {}

    def forget(self, before: int) -> None:
        """Drop the blocks numbered below ``before`` (no block from ``before + SEARCH_BLOCKS`` on
        searches them): memory stays bounded however long the input."""
        for block in [b for b in self._blocks if b < before]:
            del self._blocks[block], self._seen[block]

    def group(self, first: int, rows: list[list[int]]) -> "MatchGroup":
        """Follow blocks ``first``.. (tokens that are or will grow into ``rows``), forgetting those no
        longer searched, stepped position by position through ``MatchGroup``."""
        self.forget(first - SEARCH_BLOCKS)
        for j, tokens in enumerate(rows):
            self.track(first + j, tokens)
        return MatchGroup(self, first, len(rows))

    def add(self, block: int, t: int) -> None:
        """Position t of the block is known: its token follows the context before it."""
        if t >= ORDER:
            tokens = self._blocks[block]
            self._seen[block].setdefault(tuple(tokens[t - ORDER : t]), []).append(t)

    def token(self, block: int, t: int) -> int:
        """The token at position t of a followed block."""
        return self._blocks[block][t]

    def predict(self, block: int, t: int) -> Prediction | None:
        """The token expected at position t of the block and the match length, or None."""
        if t < ORDER:
            return None
        tokens = self._blocks[block]
        context = tuple(tokens[t - ORDER : t])
        for other in range(block, max(-1, block - SEARCH_BLOCKS - 1), -1):
            places = self._seen[other].get(context) if other in self._seen else None
            if not places:
                continue
            i = bisect.bisect_left(places, t) - 1  # positions before t only
            if i < 0:
                continue
            at, source = places[i], self._blocks[other]
            length = ORDER
            while length < MAX_LENGTH and t - length > 0 and at - length > 0 and source[at - length - 1] == tokens[t - length - 1]:
                length += 1
            return source[at], length
        return None


class Mixer:
    """One block's running hit counts per kind of prediction, and the bonus they call for."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, int], list[int]] = {}

    def bonus(self, prediction: Prediction | None, f: int, total: int) -> tuple[Bonuses, tuple[int, int] | None]:
        """([(token, B)] or [], the prediction's kind) for a prediction whose token has frequency f of ``total``."""
        if prediction is None:
            return [], None
        share = 1000 * f // total
        kind = (prediction[1], sum(share >= e for e in SHARE_EDGES))
        hits, n = self._counts.setdefault(kind, [1, 2])
        b = (hits * total - n * f) // (n - hits)
        return ([(prediction[0], min(b, LIMIT - total))] if b > 0 else []), kind

    def update(self, kind: tuple[int, int] | None, hit: bool) -> None:
        """Count whether the prediction of this kind came true."""
        if kind is not None:
            counts = self._counts[kind]
            counts[0] += hit
            counts[1] += 1


class MatchGroup:
    """Blocks a lockstep decoder steps together, each with its own ``Mixer``: ``bonuses`` for row j
    at position t, then ``learn`` once its token is known (the interface of ``TokenNgram.group``)."""

    def __init__(self, match: TokenMatch, first: int, rows: int):
        self._match, self._first = match, first
        self._mixers = [Mixer() for _ in range(rows)]
        self._pending: dict[int, tuple[Prediction | None, tuple[int, int] | None]] = {}

    def bonuses(self, j: int, t: int, frequency: Callable[[int], int], total: int) -> Bonuses:
        """Row j's bonus at position t on the LLM's CDF of ``total``, where ``frequency(token)`` is a
        token's frequency."""
        p = self._match.predict(self._first + j, t)
        bonuses, kind = self._mixers[j].bonus(p, frequency(p[0]) if p else 0, total)
        self._pending[j] = p, kind
        return bonuses

    def learn(self, j: int, t: int, f: int, total: int, coded: Interval) -> None:
        """Row j's token at t (already in its row) is known: count the hit or miss, add the position."""
        p, kind = self._pending.pop(j)
        self._mixers[j].update(kind, p is not None and self._match.token(self._first + j, t) == p[0])
        self._match.add(self._first + j, t)
