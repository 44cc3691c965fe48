import bisect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.coding.arithmetic import Decoder, DecoderBatch, Encoder, max_total, pack_bits, unpack_bits


def _cdf(freqs):
    return [0] + list(np.cumsum(freqs).tolist())


def _encode(symbols, cdf, precision):
    enc = Encoder(precision)
    for s in symbols:
        enc.encode(cdf[s], cdf[s + 1], cdf[-1])
    predicted = enc.finished_length()
    expected = enc.bits + enc.tail()
    bits = enc.finish()
    assert bits == expected
    assert len(bits) == predicted
    return bits


def _decode(bits, n, cdf, precision):
    dec = Decoder(bits, precision)
    out = []
    for _ in range(n):
        s = bisect.bisect_right(cdf, dec.target(cdf[-1])) - 1
        dec.decode(cdf[s], cdf[s + 1], cdf[-1])
        out.append(s)
    return out


@settings(max_examples=300, deadline=None)
@given(
    precision=st.sampled_from([16, 24, 32]),
    data=st.data(),
)
def test_round_trip_any_cdf(precision, data):
    k = data.draw(st.integers(1, 20))
    total_cap = max_total(precision)
    freqs = data.draw(st.lists(st.integers(1, max(1, total_cap // k)), min_size=k, max_size=k))
    symbols = data.draw(st.lists(st.integers(0, k - 1), max_size=200))
    cdf = _cdf(freqs)
    bits = _encode(symbols, cdf, precision)
    tail = data.draw(st.lists(st.integers(0, 1), max_size=40))
    assert _decode(bits + tail, len(symbols), cdf, precision) == symbols  # anything may follow


def test_zero_padding_and_packing():
    cdf = _cdf([5, 1, 1000, 3])
    symbols = [2, 2, 0, 1, 3, 2, 1, 1, 0]
    bits = _encode(symbols, cdf, 32)
    packed = pack_bits(bits)
    assert len(packed) == math.ceil(len(bits) / 8)
    assert _decode(unpack_bits(packed), len(symbols), cdf, 32) == symbols


def test_overhead_near_ideal():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(256, 0.1))
    freqs = np.maximum(1, np.floor(p * ((1 << 24) - 256))).astype(int)
    cdf = _cdf(freqs)
    symbols = rng.choice(256, size=20000, p=freqs / freqs.sum()).tolist()
    bits = _encode(symbols, cdf, 32)
    ideal = -np.log2(freqs[symbols] / freqs.sum()).sum()
    assert len(bits) - ideal < 0.001 * ideal + 2


def test_empty_stream_has_no_bits():
    assert Encoder().finish() == []


def test_shortest_termination():
    # one symbol of probability 1/2 -> exactly one bit
    enc = Encoder()
    enc.encode(0, 1, 2)
    assert enc.finish() == [0]


def test_copy_is_independent():
    enc = Encoder()
    enc.encode(0, 3, 10)
    twin = enc.copy()
    twin.encode(5, 6, 10)
    assert enc.finished_length() != twin.finished_length()
    fresh = Encoder()
    fresh.encode(0, 3, 10)
    assert enc.finish() == fresh.finish()  # the original did not see the twin's symbol


@pytest.mark.parametrize("bad", [(0, 0, 4), (2, 1, 4), (0, 5, 4), (0, 1, 1 << 31)])
def test_rejects_bad_intervals(bad):
    with pytest.raises(ValueError):
        Encoder(32).encode(*bad)


@settings(max_examples=60, deadline=None)
@given(precision=st.sampled_from([16, 32]), data=st.data())
def test_batch_decoder_matches_scalar(precision, data):
    """DecoderBatch decodes streams of different lengths in lockstep exactly like Decoder."""
    k = data.draw(st.integers(2, 12))
    cap = max_total(precision)
    freqs = data.draw(st.lists(st.integers(1, cap // k), min_size=k, max_size=k))
    cdf = np.array(_cdf(freqs))
    messages = data.draw(st.lists(st.lists(st.integers(0, k - 1), max_size=60), min_size=1, max_size=6))
    streams = [pack_bits(_encode(m, cdf.tolist(), precision)) for m in messages]
    batch = DecoderBatch(streams, precision)
    lengths = np.array([len(m) for m in messages])
    out = [[] for _ in messages]
    totals = np.full(len(messages), cdf[-1])
    for t in range(max(lengths, default=0)):
        sym = np.searchsorted(cdf, batch.targets(totals), side="right") - 1
        batch.decode(cdf[sym], cdf[sym + 1], totals, active=t < lengths)
        for i in np.flatnonzero(t < lengths):
            out[i].append(int(sym[i]))
    assert out == messages


def _coded(data, min_symbols=0):
    """An encoder that has coded random symbols under a random CDF: (encoder, cdf, symbols)."""
    k = data.draw(st.integers(2, 8))
    cdf = _cdf(data.draw(st.lists(st.integers(1, 1 << 12), min_size=k, max_size=k)))
    symbols = data.draw(st.lists(st.integers(0, k - 1), min_size=min_symbols, max_size=30))
    enc = Encoder(32)
    for s in symbols:
        enc.encode(cdf[s], cdf[s + 1], cdf[-1])
    return enc, cdf, symbols


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_lowest_point_decodes_the_symbols(data):
    """Any stream starting with lowest_point's bits decodes everything coded so far."""
    enc, cdf, symbols = _coded(data, min_symbols=1)
    width = enc.finished_length() + data.draw(st.integers(0, 12))
    v = enc.lowest_point(width)
    assert v is not None  # the finished stream itself is such a point
    bits = [(v >> (width - 1 - i)) & 1 for i in range(width)]
    assert _decode(bits, len(symbols), cdf, 32) == symbols
    finished = enc.copy().finish()
    assert v <= int("".join(map(str, finished)).ljust(width, "0") or "0", 2)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_next_target_is_what_a_decoder_of_the_finished_stream_reads(data):
    enc, cdf, symbols = _coded(data)
    dec = Decoder(enc.copy().finish(), 32)
    for s in symbols:
        dec.decode(cdf[s], cdf[s + 1], cdf[-1])
    assert enc.next_target(cdf[-1]) == dec.target(cdf[-1])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_points_by_symbol_give_each_reachable_next_symbol_once(data):
    """Each (point, symbol): the point's bits, then zeros, decode the coded symbols and then that
    symbol; the points increase; and a brute force over every point finds no other symbol."""
    enc, cdf, symbols = _coded(data, min_symbols=1)
    width = enc.finished_length() + data.draw(st.integers(0, 6))
    found = list(enc.points_by_symbol(width, cdf))
    assert found and [v for v, _ in found] == sorted({v for v, _ in found})
    for v, z in found:
        bits = [(v >> (width - 1 - i)) & 1 for i in range(width)]
        assert _decode(bits, len(symbols) + 1, cdf, 32) == symbols + [z]
    lowest = enc.lowest_point(width)
    assert found[0][0] == lowest
    every = set()
    for v in range(lowest, lowest + 300):
        bits = [(v >> (width - 1 - i)) & 1 for i in range(width)]
        if v >= 1 << width or _decode(bits, len(symbols), cdf, 32) != symbols:
            break
        every.add(_decode(bits, len(symbols) + 1, cdf, 32)[-1])
    assert every <= {z for _, z in found}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fits_and_encode_within_agree_with_coding_a_copy(data):
    """The copy-free query says what coding the symbol on a copy and finishing would say."""
    enc, cdf, _ = _coded(data)
    s = data.draw(st.integers(0, len(cdf) - 2))
    trial = enc.copy()
    trial.encode(cdf[s], cdf[s + 1], cdf[-1])
    limit = trial.finished_length() + data.draw(st.integers(-3, 3))
    before = (enc.bits[:], enc.pending, enc.low, enc.high)
    assert enc.fits(cdf[s], cdf[s + 1], cdf[-1], limit) == (trial.finished_length() <= limit)
    assert (enc.bits, enc.pending, enc.low, enc.high) == before  # the query changed nothing
    coded = enc.encode_within(cdf[s], cdf[s + 1], cdf[-1], limit)
    assert coded == (trial.finished_length() <= limit)
    assert (enc.bits, enc.pending, enc.low, enc.high) == ((trial.bits, trial.pending, trial.low, trial.high) if coded else before)


@settings(max_examples=60, deadline=None)
@given(precision=st.sampled_from([16, 24, 32]), data=st.data())
def test_batch_decoder_reads_as_many_bits_as_the_scalar_one(precision, data):
    """``pos`` (bits read, look-ahead included) follows ``Decoder.bits_read`` symbol by symbol,
    also past a stream's end (a decoder of a damaged stream is caught by it)."""
    k = data.draw(st.integers(2, 12))
    cdf = _cdf(data.draw(st.lists(st.integers(1, max_total(precision) // k), min_size=k, max_size=k)))
    symbols = data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=80))
    stream = pack_bits(_encode(symbols, cdf, precision))[: data.draw(st.integers(0, 40))]  # maybe cut short
    batch, scalar = DecoderBatch([stream], precision), Decoder(unpack_bits(stream), precision)
    total = np.array([cdf[-1]])
    for _ in symbols:
        s = bisect.bisect_right(cdf, scalar.target(cdf[-1])) - 1
        assert batch.targets(total)[0] == scalar.target(cdf[-1])
        scalar.decode(cdf[s], cdf[s + 1], cdf[-1])
        batch.decode(np.array([cdf[s]]), np.array([cdf[s + 1]]), total)
        assert batch.pos[0] == scalar.bits_read
        if scalar.bits_read > 8 * len(stream) + precision:
            break  # as far as a caller lets a damaged stream run
