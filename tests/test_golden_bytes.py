"""Bytes produced by the coder, the tokenizers and the AC compressors, pinned: digests recorded
with the code of commit a2c9dfd (before the coder's renormalisation and the tokenizers' coding
helpers were rewritten). Any change to the bits written fails here. The three that run M1 past a
few dozen positions (ac-8, ac-16, compressor-ac) were re-recorded when M1's matmuls and RMSNorm
were made exact on every instruction set: the old digests, from an AMD EPYC, did not reproduce on
an Intel Xeon with AMX whose results equal int64 reference matmuls."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from nct.coding.arithmetic import Encoder, pack_bits
from nct.data.corpus import embedded
from nct.generate import prompt_ids
from nct.tokenizers import build

GOLDEN = {
    "encoder16": "a6ffb3438151fa110369e6d5129cea9e",
    "encoder24": "93fe92fbefbc716a133c8b1cb4c1e3f6",
    "encoder32": "d1c024fdb8d0b4551af99b8e937f529d",
    "gzip-8-greedy-1": ("3bea971a2e172c50d2bf75f771ec881f", 0, "e437a75ed98e5aebb548231676bec2df"),
    "gzip-16-greedy-1": ("6ca270a70491280ecf030f9adb186130", 0, "d962f36085fd0ec5b047d08902bb3086"),
    "static-ac-8-greedy-1": ("14a39be053f06f81a0b81aadff5ec761", 0, "ed391703a9c3891d5fb21fdcfa4c4a5a"),
    "static-ac-16-greedy-1": ("521527fcba4677a9fb3c7c21d748f930", 0, "69f22ee5a598cfd8d516a99509170ea6"),
    "ac-8-greedy-1": ("00a6fa133271ba218bc2dfbcda0ef2e1", 0, "2275d0a3ea9a9497112e7859fecc28a2"),
    "ac-16-greedy-1": ("224be553f4b7fe8a8945912976f874be", 1, "fc8b490537cb0b797f3e8687e9c4fe4c"),
    "equal-info-8-greedy-1": ("e4462dbb52702667dd839563e58bf314", 0, "f5439291a4a00e5e4477d785b3328672"),
    "equal-info-8-greedy-2": ("e35b5edba21728d68d1954957948b959", 0, "f5515b6b20e4bf9c4be1056e446ffe47"),
    "equal-info-8-delay-1": ("26a99663644a64b5e6e0f3543f356285", 0, "0664aa9a15b8d37ce559eb136456b72a"),
    "equal-info-8-delay-2": ("9fd95b52dbdef75f2b877b936681b80a", 0, "a2a4c66bc976eab8a058ba6da02f4502"),
    "equal-info-16-greedy-1": ("5c6c9324b8c863de9f196da47f00e1d8", 0, "d738d1f6628c93804648c03d7103ce42"),
    "equal-info-16-greedy-2": ("efa3a006ee6b5ad4e44b55b06230b0a7", 0, "2cf92e60d71168635b78733289d6e0e5"),
    "equal-info-16-delay-1": ("e5f757054ed8b8307a5d3426f36df4de", 0, "d5139657529c24309ee7a45202f016d4"),
    "equal-info-16-delay-2": ("8bb92f1c193df6a70709d638ce11681b", 0, "8e19a2cf5eac0a9413e5d29d9f74f9d7"),
    "compressor-static-ac": "319a14bf053ea0e47cbe786939ffe3dd",
    "compressor-ac": "1b3d7834a1f5beab4357d93e3891b746",
}
SLOW = {"equal-info-8-greedy-2", "equal-info-8-delay-1", "equal-info-16-greedy-1", "equal-info-16-delay-2"}  # the rest cover both rules, widths, resets
ROUND_TRIP = "d08b2bf83dc20c3324e10f507f349dc5"  # the texts themselves, decoded back
AMBIGUOUS_BACK = {"ac-16-greedy-1": "dc509062d7edd9d8c5723a7ce9d4fa70"}  # one text reads back longer (counted)
TEXTS = [d.data[:400] for d in embedded("validation").documents][:6] + [bytes(range(256))]


def digest(x: object) -> str:
    """Short SHA-256 of bytes, or of a JSON value."""
    return hashlib.sha256(x if isinstance(x, bytes) else json.dumps(x).encode()).hexdigest()[:32]


@pytest.mark.parametrize("precision", [16, 24, 32])
def test_encoder_bits_and_queries(precision):
    """3000 symbols of random CDFs: the bits, every finished length, tails, points and targets."""
    rng = np.random.default_rng(precision)
    enc = Encoder(precision)
    lengths, lows, tails = [], [], []
    top = 1 << (precision - 2)
    for i in range(3000):
        k = int(rng.integers(2, 300))
        freqs = rng.integers(1, max(2, top // k // (1 + int(rng.integers(0, 50)))), k)
        cdf = [0] + np.cumsum(freqs).tolist()
        s = int(rng.integers(0, k)) if rng.random() < 0.5 else int(np.argmax(freqs))
        enc.encode(cdf[s], cdf[s + 1], cdf[-1])
        lengths.append(enc.finished_length())
        if i % 97 == 0:
            tails.append(enc.tail())
            lp = enc.lowest_point(len(enc.bits) + 40)
            lows.append(None if lp is None else format(lp, "x"))
            points = list(enc.points_by_symbol(len(enc.bits) + enc.pending + precision + 2, cdf))[:20]
            lows.append([(format(v, "x"), z) for v, z in points])
            lows.append(enc.next_target(cdf[-1]))
    assert digest(pack_bits(enc.finish()) + digest([lengths, tails, lows]).encode()) == GOLDEN[f"encoder{precision}"]


@pytest.mark.parametrize("key", [pytest.param(k, marks=[pytest.mark.slow] if k in SLOW else []) for k in GOLDEN if isinstance(GOLDEN[k], tuple)])
def test_tokenizer_ids(key, tiny_m1):
    """Ids, ambiguous count, decoded texts and prompt ids of every compressed-text tokenizer."""
    method, tb, rule, reset = key.rsplit("-", 3)
    tok = build(method, m1=tiny_m1, token_bits=int(tb), rule=rule, reset_every=int(reset))
    ids_digest, ambiguous, prompt_digest = GOLDEN[key]
    encoded = tok.encode_result(TEXTS)
    assert digest(encoded.ids) == ids_digest and encoded.ambiguous == ambiguous
    assert digest([x.hex() for x in tok.decode_batch(encoded.ids)]) == AMBIGUOUS_BACK.get(key, ROUND_TRIP)
    assert digest(prompt_ids(tok, b"Once upon a time, ")) == prompt_digest


@pytest.mark.parametrize("name", ["static-ac", "ac"])
def test_compressor_payloads(name, tiny_m1):
    from nct.compressors import get

    c = get(name, **({"model": tiny_m1, "block": 300} if name == "ac" else {}))
    data = b"".join(TEXTS)
    payload = c.compress(data)
    assert digest(payload) == GOLDEN[f"compressor-{name}"] and c.decompress(payload) == data
