"""Property tests of the archive format: any payload and header round-trip through pack/unpack, and
any single flipped bit or truncation of any archive is reported, never decoded."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nct
from nct.container import ArchiveError, Header, checksum, pack, unpack

HEADERS = st.builds(
    Header,
    method=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
    params=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=8), st.booleans()), max_size=4),
    model=st.one_of(st.none(), st.binary(min_size=8, max_size=8).map(checksum)),
    length=st.integers(0, 1 << 40),
    sha256=st.binary(max_size=16).map(checksum),
)


@settings(max_examples=100, deadline=None)
@given(header=HEADERS, payload=st.binary(max_size=300))
def test_pack_unpack_round_trips(header, payload):
    assert unpack(pack(header, payload)) == (header, payload)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_flipped_bit_is_reported(data, where, bit):
    archive = bytearray(nct.compress(data, method="gzip"))
    archive[int(where * len(archive))] ^= 1 << bit
    with pytest.raises(ArchiveError):
        nct.decompress(bytes(archive))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), keep=st.floats(0, 1, exclude_max=True))
def test_any_truncation_is_reported(data, keep):
    archive = nct.compress(data, method="zstd")
    with pytest.raises(ArchiveError):
        nct.decompress(archive[: int(keep * len(archive))])


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_round_trip_with_check(data):
    archive = nct.compress(data, method="xz", check=True)
    assert nct.decompress(archive) == data and nct.inspect(archive).length == len(data)
