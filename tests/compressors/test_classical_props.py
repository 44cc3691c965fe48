"""Property tests: every classical codec, alone and through the archive API, on any bytes
(``st.binary()``, plus repetitive inputs that exercise the codecs' matches)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nct
from nct.compressors import get
from nct.compressors.classical import CODECS
from nct.container import checksum

ANY_BYTES = st.one_of(
    st.binary(max_size=800),
    st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=24), st.integers(2, 120)),  # repetitive
)


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=20, deadline=None)
@given(data=ANY_BYTES)
def test_every_codec_round_trips_any_bytes_through_an_archive(name, data):
    archive = nct.compress(data, method=name)
    header = nct.inspect(archive)
    assert (header.method, header.length, header.sha256, header.model) == (name, len(data), checksum(data), None)
    assert nct.decompress(archive) == data


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=10, deadline=None)
@given(data=st.binary(max_size=400))
def test_payloads_are_deterministic(name, data):
    """The same bytes give the same payload (archives are reproducible), from a fresh compressor too."""
    payload = get(name).compress(data)
    assert get(name).compress(data) == payload and get(name).decompress(payload) == data
