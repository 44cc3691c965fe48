"""Generation with M2: sample tokens after a prompt, then decode them back to text with the
tokenizer the M2 was trained on (for Equal-Info, window by window, through M1)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .models.transformer import Transformer
from .tokenizers.base import Tokenizer, as_bytes


def prompt_ids(tok: Tokenizer, prompt: bytes) -> list[int]:
    """Token ids that a continuation can follow (``Tokenizer.prefix_ids``): the prompt's stream
    without its ending (GZip: sync-flushed, no final block; AC: the bits already decided, whole
    tokens only); Equal-Info, Bytes and SentencePiece: the prompt's ordinary encoding."""
    return tok.prefix_ids(prompt)


@dataclass
class Sample:
    """A generated continuation."""

    text: bytes  # the decoded text (prompt included, as decoded)
    tokens: list[int]
    prompt_tokens: int
    prompt_reproduced: bool  # the decoded text starts with the prompt
    undecodable: int  # windows / streams that did not decode (reported, not hidden)


@torch.no_grad()
def generate(
    model: Transformer, tok: Tokenizer, prompt: str | bytes = b"", max_bytes: int = 200, temperature: float = 1.0,
    top_k: int | None = None, seed: int = 0, bytes_per_token: float = 1.0,
) -> Sample:
    """Sample about ``max_bytes / bytes_per_token`` tokens after the prompt, then decode them."""
    model.eval()
    prompt = as_bytes(prompt)
    ids = prompt_ids(tok, prompt)
    n_new = max(1, math.ceil(max_bytes / bytes_per_token * 1.2))
    g = torch.Generator().manual_seed(seed)
    seq = [model.cfg.bos, *ids]
    for _ in range(n_new):
        x = torch.tensor([seq[-model.cfg.context :]])
        logits = model(x)[0, -1].float().cpu() / max(temperature, 1e-6)
        if top_k:
            kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        seq.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=g)))
    tokens = seq[1:]
    decoded = tok.decode_result([tokens])
    text = decoded.texts[0]
    return Sample(
        text=text[: len(prompt) + max_bytes],
        tokens=tokens,
        prompt_tokens=len(ids),
        prompt_reproduced=text.startswith(prompt),
        undecodable=decoded.undecodable,
    )
