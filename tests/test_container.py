"""DESIGN invariant 3: archives describe themselves; damage and model mismatches are reported."""

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
