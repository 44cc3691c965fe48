import pytest
from hypothesis import given
from hypothesis import strategies as st

from nct.coding.varint import read_varint, write_varint


@given(st.lists(st.integers(0, 2**63 - 1)))
def test_round_trip(values):
    buf = b"".join(write_varint(v) for v in values)
    pos, out = 0, []
    for _ in values:
        v, pos = read_varint(buf, pos)
        out.append(v)
    assert out == values and pos == len(buf)


def test_truncated_raises():
    with pytest.raises(IndexError):
        read_varint(write_varint(1 << 20)[:-1], 0)
