"""Invariant 3 (README): archives describe themselves; damage and model mismatches are reported."""

import pytest

import nct
from nct.container import MAGIC, ArchiveError, unpack
from tests.conftest import TINY, random_m1

TEXT = b"It was the best of times, it was the worst of times."


@pytest.fixture(scope="module")
def archive(tiny_m1):
    return nct.compress(TEXT, model=tiny_m1, block=32)


def test_round_trip_and_header(archive, tiny_m1):
    assert nct.decompress(archive, model=tiny_m1) == TEXT
    h = nct.inspect(archive)
    assert h.method == "cm" and h.length == len(TEXT) and h.model == tiny_m1.fingerprint  # the default method
    assert h.params["block"] == 32 and archive.startswith(MAGIC)


@pytest.mark.parametrize("method", ["gzip", "xz", "static-ac"])
def test_other_methods(method):
    a = nct.compress(TEXT, method=method, check=True)
    assert nct.inspect(a).method == method
    assert nct.decompress(a) == TEXT


def test_every_flipped_byte_is_detected(archive, tiny_m1):
    for i in range(len(archive)):
        damaged = bytearray(archive)
        damaged[i] ^= 0x01
        with pytest.raises(ArchiveError):
            nct.decompress(bytes(damaged), model=tiny_m1)


def test_every_truncation_is_detected(archive, tiny_m1):
    for n in range(len(archive)):
        with pytest.raises(ArchiveError):
            nct.decompress(archive[:n], model=tiny_m1)


def test_trailing_garbage(archive):
    with pytest.raises(ArchiveError, match="trailing"):
        unpack(archive + b"x")


def test_unknown_version(archive):
    bumped = bytearray(archive)
    bumped[4] = 99
    with pytest.raises(ArchiveError, match="version 99"):
        unpack(bytes(bumped))


def test_wrong_model(archive):
    other = random_m1(TINY, seed=42)
    with pytest.raises(ArchiveError, match="made with model"):
        nct.decompress(archive, model=other)


def test_not_an_archive():
    with pytest.raises(ArchiveError, match="not an nct archive"):
        nct.decompress(b"")
    with pytest.raises(ArchiveError, match="not an nct archive"):
        nct.decompress(b"PK\x03\x04 zip file")


def test_check_flag_verifies(tiny_m1):
    assert nct.decompress(nct.compress(b"\x00\xff" * 50, model=tiny_m1, check=True, block=40), model=tiny_m1)


def test_archive_from_a_newer_version(archive):
    """A valid archive naming a method this version does not know gets a clear error."""
    from nct.container import Header, pack

    header, payload = unpack(archive)
    future = pack(Header("ac-v9", header.params, header.model, header.length, header.sha256), payload)
    with pytest.raises(ArchiveError, match="not one this nct decodes"):
        nct.decompress(future)
    odd = pack(Header("gzip", {"level": 9, "window": 3}, None, header.length, header.sha256), payload)
    with pytest.raises(ArchiveError, match="no parameter 'window'"):
        nct.decompress(odd)


# ----- crafted archives: the checksum is valid, the contents are hostile (invariant 5, README) -----
import json as _json  # noqa: E402
import os  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import zlib  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nct.container import FORMAT_VERSION, Header, pack  # noqa: E402
from nct.errors import CorruptArchive, CorruptPayload, NctError, UnsupportedArchive  # noqa: E402

SHA = "0" * 64


def craft(head: bytes, payload: bytes = b"") -> bytes:
    """An archive with this raw header JSON and payload, its CRC recomputed."""
    body = MAGIC + bytes([FORMAT_VERSION]) + struct.pack("<I", len(head)) + head + struct.pack("<Q", len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


def fields(**kw) -> bytes:
    base = {"method": "gzip", "params": {"level": 9}, "model": None, "length": 3, "sha256": SHA}
    return _json.dumps({**base, **kw}).encode()


def _bounded(fn, seconds=5.0, megabytes=100):
    """fn() within the time and (Python-allocated) memory bounds of the issue's targets."""
    tracemalloc.start()
    t0 = time.time()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.time() - t0 < seconds and peak < megabytes << 20, (time.time() - t0, peak)


@pytest.mark.parametrize("head, needle", [
    (b"[" * 30_000 + b"]" * 30_000, "nested"),
    (b"[" * 100_000 + b"]" * 100_000, "more than the 65536 allowed"),
    (fields(model=123), "model must be a SHA-256"),
    (fields(model="0" * 64), "uses no model but names one"),
    (fields(length=-1), "length must be"),
    (fields(length=True), "length must be"),
    (fields(method=["gzip"]), "not a method name"),
    (fields(params=[]), "params must be an object"),
    (fields(sha256=7), "sha256"),
    (fields(extra=1), "exactly method"),
    (b'{"method":"gzip","method":"xz","params":{},"model":null,"length":1,"sha256":"' + SHA.encode() + b'"}', "twice"),
    (fields(length=float("nan")), "not allowed"),
    (b"\xff\xfe", "unreadable"),
    (b" " * 70_000, "more than the 65536 allowed"),
])
def test_crafted_headers_are_refused(head, needle):
    with pytest.raises(CorruptArchive, match=needle):
        nct.decompress(craft(head))


@pytest.mark.parametrize("params, needle", [
    ({"block": 64, "precision": 32, "freq_bits": 24, "batch": 0}, "no parameter 'batch'"),
    ({"block": 64, "precision": 32, "freq_bits": 24, "batch": "x"}, "no parameter 'batch'"),
    ({"block": 0}, "block must be in"),
    ({"block": "x"}, "must be an integer"),
    ({"block": 10**6}, "block must be in"),
    ({"precision": 64}, "precision must be in"),
    ({"freq_bits": 30, "precision": 16}, "needs a precision"),
])
def test_ac_parameters_are_checked(params, needle, tiny_m1):
    head = fields(method="ac", params=params, model=tiny_m1.fingerprint, length=10)
    with pytest.raises(CorruptArchive, match=needle):
        nct.decompress(craft(head, b"\x0a\x40"), model=tiny_m1)


def test_a_model_method_must_name_its_model(archive, tiny_m1):
    header, payload = unpack(archive)
    for method in ("cm", "ac", "static-ac"):
        with pytest.raises(CorruptArchive, match="needs a model fingerprint"):
            nct.decompress(pack(Header(method, {}, None, header.length, header.sha256), payload), model=tiny_m1)


def test_an_archive_never_chooses_what_is_loaded(tmp_path):
    hf = craft(fields(method="hf", params={"path": str(tmp_path / "model-dir")}))
    with pytest.raises(UnsupportedArchive, match="not one this nct decodes"):
        nct.decompress(hf)


def _ac_payload(n: int, block: int, streams: list[bytes]) -> bytes:
    from nct.coding.varint import write_varint

    return write_varint(n) + write_varint(block) + b"".join(write_varint(len(s)) + s for s in streams)


@pytest.mark.parametrize("n, block, streams, needle", [
    (10**6, 65536, [bytes(370)], "truncated"),  # a 381-byte archive that claims 10^6 bytes
    (10**6, 65536, [bytes(22)] * 16, "ends before its bytes"),  # ... in 16 plausible blocks: found in a few steps
    (1 << 40, 65536, [bytes(20)], "cannot hold"),  # 2^40 bytes: nothing is allocated for it
    (200, 64, [b"\x05", b"\x01"], "truncated|claims"),  # length varints past the streams
    (64, 64, [bytes(2)], "ends before its bytes"),  # a stream far too short for its block: found in a few steps
])
def test_crafted_ac_payloads_fail_fast(n, block, streams, needle, tiny_m1):
    payload = _ac_payload(n, block, streams)
    head = fields(method="ac", params={"block": block, "precision": 32, "freq_bits": 24}, model=tiny_m1.fingerprint, length=n)

    def decode():
        with pytest.raises(CorruptPayload, match=needle):
            nct.decompress(craft(head, payload), model=tiny_m1)

    _bounded(decode)


@pytest.mark.parametrize("lanes, k", [(1024, 0), (1024, 1), (16, 10)])
def test_crafted_cm_payloads_fail_before_allocating_their_lanes(lanes, k, tiny_m1):
    from nct.coding.varint import write_varint

    block = 65536
    n = block * lanes  # 1024 lanes of 64 KiB: the decoder's arrays alone would be over 1 GB
    payload = write_varint(n) + write_varint(block) + write_varint(min(n, 1024 * block))
    payload += b"".join(write_varint(k + 1) + bytes(k) for _ in range(lanes))
    archive = craft(fields(method="cm", params={"block": block}, model=tiny_m1.fingerprint, length=n), payload)

    def decode():
        with pytest.raises(CorruptPayload, match="cannot be coded in"):
            nct.decompress(archive, model=tiny_m1)

    _bounded(decode)


def test_the_stated_length_must_match_the_payloads(tiny_m1):
    a = nct.compress(TEXT, method="ac", model=tiny_m1, block=32)
    h, payload = unpack(a)
    with pytest.raises(CorruptPayload, match="archive says"):
        nct.decompress(pack(Header(h.method, h.params, h.model, h.length + 1, h.sha256), payload), model=tiny_m1)


def _bomb(method: str) -> bytes:
    """A payload of ``method`` that inflates 16 MiB of zeros (made without holding them)."""
    import brotli
    import bz2
    import lzma

    import zstandard

    zeros, n = bytes(1 << 20), 16
    if method == "gzip":
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        return b"".join(c.compress(zeros) for _ in range(n)) + c.flush()
    if method == "bz2":
        c = bz2.BZ2Compressor(9)
        return b"".join(c.compress(zeros) for _ in range(n)) + c.flush()
    if method == "xz":
        c = lzma.LZMACompressor()
        return b"".join(c.compress(zeros) for _ in range(n)) + c.flush()
    if method == "zstd":
        c = zstandard.ZstdCompressor().compressobj()
        return b"".join(c.compress(zeros) for _ in range(n)) + c.flush()
    c = brotli.Compressor()
    return b"".join(c.process(zeros) for _ in range(n)) + c.finish()


@pytest.mark.parametrize("method", ["gzip", "bz2", "xz", "zstd", "brotli"])
def test_decompression_bombs_stop_at_the_stated_length(method):
    archive = craft(fields(method=method, params={}, length=1000), _bomb(method))

    def decode():
        with pytest.raises(CorruptPayload, match="more than the 1000 bytes"):
            nct.decompress(archive)

    _bounded(decode, megabytes=20)


def test_zpaq_decodes_in_a_contained_child():
    import zpaq

    archive = craft(fields(method="zpaq", params={}, length=1000), zpaq.compress(bytes(4 << 20), 1, threads=1))
    with pytest.raises(CorruptPayload, match="more than 1000 bytes"):
        nct.decompress(archive)
    with pytest.raises(CorruptPayload, match="zpaq payload is corrupt"):
        nct.decompress(craft(fields(method="zpaq", params={}, length=1000), b"zPQ\x01garbage"))


def test_png_and_ppmd_sizes_are_read_before_decoding():
    ihdr = struct.pack(">IIBBBBB", 64, 2_000_000, 8, 0, 0, 0, 0)  # 128 MB of pixels claimed
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b"")
    with pytest.raises(CorruptPayload, match="2000000 image"):
        nct.decompress(craft(fields(method="png", params={}, length=1000), b"\x00" + png))
    ppmd = bytes([8, 20]) + b"\xff\xff\xff\xff\x0f" + bytes(10)  # claims 4 GiB
    with pytest.raises(CorruptPayload, match="more than the 1000 expected"):
        nct.decompress(craft(fields(method="ppmd", params={}, length=1000), ppmd))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
KEYS = ["block", "precision", "freq_bits", "level", "mix", "batch", "path"]
METHODS = ["cm", "ac", "static-ac", "gzip", "bz2", "xz", "zstd", "brotli", "ppmd", "png", "flac", "hf", "zpaq-x", ""]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    method=st.sampled_from(METHODS),
    params=st.dictionaries(st.sampled_from(KEYS), st.integers(-3, 70_000) | JSON, max_size=3),
    length=st.integers(-1, 10_000) | JSON,
    payload=st.binary(max_size=300),
    raw=st.none() | st.binary(max_size=60),
)
def test_only_nct_errors_escape_decompress(method, params, length, payload, raw, tiny_m1):
    head = raw if raw is not None else _json.dumps(
        {"method": method, "params": params, "model": tiny_m1.fingerprint if method in ("cm", "ac", "static-ac") else None,
         "length": length, "sha256": SHA}).encode()
    try:
        nct.decompress(craft(head, payload), model=tiny_m1)
    except NctError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), method=st.sampled_from(["ac", "static-ac", "gzip", "xz", "zstd", "bz2", "brotli", "ppmd"]))
def test_real_archives_round_trip_and_their_payload_mutations_raise_nct_errors(data, method, tiny_m1):
    params = {"block": 32} if method in ("ac", "static-ac") else {}
    a = nct.compress(data, method=method, model=tiny_m1 if method == "ac" else None, **params)
    assert nct.decompress(a, model=tiny_m1) == data
    h, payload = unpack(a)
    for cut in {0, len(payload) // 2, max(0, len(payload) - 1)}:
        try:
            nct.decompress(pack(h, payload[:cut] + payload[cut + 1:]), model=tiny_m1)
        except NctError:
            pass


@st.composite
def _block_payloads(draw, method: str):
    """Payloads shaped like ac's or cm's (length, block, [segment,] then per block a length and
    bytes) with random lengths and stream bytes."""
    from nct.coding.varint import write_varint

    block = draw(st.integers(16, 64))
    n = draw(st.integers(0, 4 * block))
    out = write_varint(n) + write_varint(block) + (write_varint(draw(st.sampled_from([block, 4 * block, 3]))) if method == "cm" else b"")
    for _ in range(-(-n // block)):
        stream = draw(st.binary(max_size=block + 2))
        v = draw(st.sampled_from([len(stream), len(stream) + 1, 0]))
        out += write_varint(v) + stream
    return block, n, out + draw(st.binary(max_size=2))


@settings(max_examples=int(os.environ.get("NCT_FUZZ_EXAMPLES", 60)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["ac", "cm"]), shaped=st.data())
def test_shaped_model_payloads_raise_only_nct_errors(method, shaped, tiny_m1):
    block, n, payload = shaped.draw(_block_payloads(method))
    params = {"block": block} if method == "cm" else {"block": block, "precision": 32, "freq_bits": 24}
    head = fields(method=method, params=params, model=tiny_m1.fingerprint, length=n)
    try:
        nct.decompress(craft(head, payload), model=tiny_m1)
    except NctError:
        pass
