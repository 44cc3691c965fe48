"""StaticAC's default probability model: the byte unigram of the embedded corpus's training split."""

from __future__ import annotations

import functools

from ..models.probability import Unigram
from .corpus import embedded


@functools.lru_cache(maxsize=1)
def default_unigram() -> Unigram:
    """Byte unigram of the embedded corpus's training split (computed once)."""
    return Unigram.fit(b"".join(d.data for d in embedded("train").documents))
