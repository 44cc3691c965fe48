"""The pretrained-LLM coder (``llm``): every byte string round-trips, any batch decodes, bad payloads are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nct
from nct.coding.varint import write_varint
from nct.compressors.base import CorruptPayload, payload_varint
from nct.compressors.llm import LLMCompressor, Tokens
from nct.errors import UsageError, WrongModel
from tests.llama_fixtures import TEXT, register_tiny, tiny_llama

pytest.importorskip("tokenizers")


@pytest.fixture
def registered(monkeypatch):
    """The tiny engine as the registry's ``tiny-llama``."""
    return register_tiny(monkeypatch)


def coder(**kw) -> LLMCompressor:
    return LLMCompressor(tiny_llama(), **kw)


@pytest.mark.parametrize("data", [b"", b"the cat sat on the mat.", TEXT.encode(), "h\u00e9llo w\u00f6rld \u2603".encode(), bytes(range(256)),
                                  b"\xff\xfe" * 100, b"\x00the\xc0\x80 cat\xed\xa0\x80"])
def test_round_trip(data):
    c = coder(block=40, batch=3)
    assert c.decompress(c.compress(data), limit=len(data)) == data


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=80) | st.text(max_size=40).map(str.encode))
def test_any_bytes_round_trip(data):
    c = coder(block=30)
    assert c.decompress(c.compress(data)) == data


def test_tokens_escape_bytes_the_vocabulary_lacks():
    t = Tokens(tiny_llama().tokenizer_json, tiny_llama().cfg.vocab_size)
    ids = t.encode(b"cat\x07\xff")
    assert t.decode(ids) == b"cat\x07\xff"
    v = tiny_llama().cfg.vocab_size
    assert list(ids[-2:]) == [v + 7, v + 255] and t.model_tokens(ids)[-1] == t.escape
    assert len(t.encode(TEXT.encode())) < len(TEXT) / 2  # BPE tokens: fewer symbols than bytes


def test_long_text_is_tokenized_in_batches_of_pieces_cut_after_newlines(monkeypatch):
    """Text of many pieces (here pieces of 40 characters, 3 tokenized at a time) gives the tokens of
    each piece on its own, in order, and round-trips."""
    import nct.compressors.llm as llm

    t = Tokens(tiny_llama().tokenizer_json, tiny_llama().cfg.vocab_size)
    data = (TEXT + "\n") * 4 + "\xff".join(["caf\u00e9 na\u00efve"] * 9)
    monkeypatch.setattr(llm, "TEXT_PIECE", 40)
    monkeypatch.setattr(llm, "PIECES_AT_ONCE", 3)
    pieces = list(llm._pieces(data))
    assert len(pieces) > 3 * 3 and "".join(pieces) == data
    assert all(p.endswith("\n") or len(p) == 40 or p is pieces[-1] for p in pieces)
    ids = t.encode(data.encode())
    assert t.decode(ids) == data.encode() and list(ids) == [i for p in pieces for i in t.encode(p.encode())]


def test_payload_does_not_depend_on_the_batch_and_any_batch_decodes():
    data = TEXT.encode()[:600]
    payloads = {coder(block=50, batch=b).compress(data) for b in (1, 4)}
    assert len(payloads) == 1
    payload = payloads.pop()
    assert all(coder(block=50, batch=b).decompress(payload) == data for b in (1, 2, 16))  # exact CDFs: any batch


def test_bad_payloads_are_refused():
    c = coder(block=40)
    payload = c.compress(TEXT.encode()[:300])
    with pytest.raises(CorruptPayload, match="truncated"):
        c.decompress(payload[:-5] if payload[-1] else payload[:3])
    with pytest.raises(CorruptPayload, match="claims"):
        c.decompress(payload, limit=10)  # more tokens than bytes
    with pytest.raises(CorruptPayload):
        c.decompress(b"\x05\x00")  # block 0


def test_chunks_are_coded_on_their_own():
    """Chunked (LMIC's setting), every chunk is tokenized and blocked alone: the payload is the
    chunks' own payloads' blocks, and it decodes with any batch; a damaged piece count is refused."""
    data = TEXT.encode()[:500] + bytes(range(200, 256))
    c = coder(block=40, chunk=64)
    payload = c.compress(data)
    assert all(coder(block=40, chunk=64, batch=b).decompress(payload, limit=len(data)) == data for b in (1, 5))
    pieces = [data[i : i + 64] for i in range(0, len(data), 64)]

    def blocks(p: bytes) -> bytes:  # a payload's blocks: what follows its token count and block
        _, pos = payload_varint(p, 0)
        return p[payload_varint(p, pos)[1] :]

    counts = [len(c.tokens.encode(p)) for p in pieces]
    assert payload == (write_varint(len(pieces)) + b"".join(map(write_varint, counts)) + write_varint(40)
                       + b"".join(blocks(coder(block=40, match=0).compress(p)) for p in pieces))  # chunked: no match model
    assert c.params() == {"model": "tiny-llama", "block": 40, "chunk": 64} and coder(block=40).params()["block"] == 40
    with pytest.raises(CorruptPayload, match="pieces"):
        c.decompress(b"\xff\xff\x7f" + payload[1:])
    assert coder(block=40, chunk=64).decompress(coder(block=40, chunk=64).compress(b"")) == b""


def test_api_archives_name_the_model_and_check_its_fingerprint(registered):
    data = TEXT.encode()[:200]
    archive = nct.compress(data, model=registered, block=64)
    header = nct.api.inspect(archive)
    assert header.method == "llm" and header.params == {"model": "tiny-llama", "block": 64, "match": 2} and header.model == registered.fingerprint
    assert nct.decompress(archive) == data  # the archive names the registry entry, loaded by name
    other = tiny_llama(seed=1)
    with pytest.raises(WrongModel):
        nct.decompress(archive, model=other)
    with pytest.raises(UsageError, match="codes with method llm"):
        nct.compress(data, method="xz", model="tiny-llama")
    assert nct.compress(data, method="llm", model="tiny-llama", block=64) == archive


def test_block_bounds():
    with pytest.raises(Exception, match="block"):
        coder(block=tiny_llama().cfg.context)


REPETITIVE = b"".join(b'{"id": %d, "name": "car %d", "doors": 4, "color": "red"},\n' % (i, i % 7) for i in range(60))


@pytest.mark.parametrize("match", [1, 2])
@pytest.mark.parametrize("chunk", [0, 700])
def test_match_model_round_trips_with_any_batch_and_shrinks_repeated_text(chunk, match):
    plain, matched = coder(block=60, chunk=chunk, match=0), coder(block=60, chunk=chunk, match=match)
    payload = matched.compress(REPETITIVE)
    assert all(coder(block=60, chunk=chunk, match=match, batch=b).decompress(payload, limit=len(REPETITIVE)) == REPETITIVE for b in (1, 3, 64))
    assert len(payload) < 0.9 * len(plain.compress(REPETITIVE))  # the repeats, seen in this and earlier blocks
    assert coder(block=60, chunk=chunk, match=0).decompress(plain.compress(REPETITIVE)) == REPETITIVE


def test_match_model_from_the_cli_and_the_api(registered, tmp_path, capsys):
    """Model 2 on by default (its archives say match 2); --no-match / match=0 archives say nothing, as
    every archive made before it existed, and decode without it; match=1 archives decode with model 1."""
    from nct.cli import main

    src = tmp_path / "cars.json"
    src.write_bytes(REPETITIVE)
    assert main(["compress", "-q", "--model", "tiny-llama", "--block", "64", str(src)]) == 0
    archive = (tmp_path / "cars.json.nct").read_bytes()
    assert nct.api.inspect(archive).params == {"model": "tiny-llama", "block": 64, "match": 2}
    assert archive == nct.compress(REPETITIVE, model="tiny-llama", block=64, match=2)
    first = nct.compress(REPETITIVE, model="tiny-llama", block=64, match=1)
    assert nct.api.inspect(first).params["match"] == 1 and first != archive and nct.decompress(first) == REPETITIVE
    assert main(["decompress", "-q", "-o", str(tmp_path / "back"), str(src) + ".nct"]) == 0
    assert (tmp_path / "back").read_bytes() == REPETITIVE
    assert main(["compress", "-q", "-f", "--model", "tiny-llama", "--block", "64", "--no-match", str(src)]) == 0
    plain = (tmp_path / "cars.json.nct").read_bytes()
    assert nct.api.inspect(plain).params == {"model": "tiny-llama", "block": 64} and plain != archive
    assert nct.decompress(plain) == REPETITIVE and plain == nct.compress(REPETITIVE, model="tiny-llama", block=64, match=0)
    assert main(["compress", "-q", "--method", "xz", "--no-match", "-o", str(tmp_path / "x.nct"), str(src)]) == 1
    assert "--no-match applies to llm" in capsys.readouterr().err and not (tmp_path / "x.nct").exists()


@settings(max_examples=15, deadline=None)
@given(st.binary(max_size=120) | st.text(alphabet="ab \n\u00e9", max_size=120).map(str.encode))
def test_match_model_any_bytes_round_trip(data):
    for match in (1, 2):
        c = coder(block=20, match=match)
        assert c.decompress(c.compress(data)) == data


def test_match_model_2_over_many_groups_forgets_and_still_decodes():
    """More blocks than the counts' window holds (GROUP x WINDOW): the decoder forgets what the
    encoder forgot, when it did."""
    from nct.models.token_ngram import GROUP, WINDOW

    c = coder(block=4)
    payload = c.compress(REPETITIVE)
    assert len(c.tokens.encode(REPETITIVE)) > 4 * GROUP * (WINDOW + 1)
    assert coder(block=4, batch=5).decompress(payload, limit=len(REPETITIVE)) == REPETITIVE


def test_match_must_be_a_known_model():
    with pytest.raises(Exception, match="match must be"):
        coder(match=3)
