import pytest
from hypothesis import given
from hypothesis import strategies as st

from nct.data.corpus import embedded
from nct.tokenizers import Bytes, SentencePiece, bits_to_tokens, build, tokens_to_bits

TEXT = "It is a truth universally acknowledged — naïve café, 日本語. ".encode() * 4


@given(st.lists(st.integers(0, 1), max_size=100), st.sampled_from([1, 8, 16]))
def test_bits_tokens_round_trip(bits, n):
    ids = bits_to_tokens(bits, n)
    assert len(ids) == -(-len(bits) // n) and all(0 <= i < 1 << n for i in ids)
    back = tokens_to_bits(ids, n)
    assert back[: len(bits)].tolist() == bits and not back[len(bits) :].any()


def test_tokens_are_msb_first():
    assert bits_to_tokens([1, 0, 1], 2) == [2, 2]
    with pytest.raises(ValueError):
        tokens_to_bits([4], 2)


@pytest.mark.parametrize("method", ["bytes", "gzip", "static-ac", "ac"])
@pytest.mark.parametrize("token_bits", [8, 16])
def test_round_trip(method, token_bits, tiny_m1):
    """Exact, except an arithmetic-coded text whose end no point can mark: then it is counted."""
    tok = build(method, m1=tiny_m1, token_bits=token_bits)
    for text in [TEXT, b"", b"\x00\xff\x80 binary"]:
        encoded = tok.encode_result([text])
        [ids] = encoded.ids
        assert all(0 <= i < tok.vocab_size for i in ids)
        back = tok.decode_bytes(ids)
        assert back == text or (encoded.ambiguous == 1 and back.startswith(text))


@pytest.mark.parametrize("method", ["static-ac", "ac"])
def test_arithmetic_tokens_stop_exactly_on_real_text(method, tiny_m1):
    tok = build(method, m1=tiny_m1, token_bits=8)
    texts = [d.data[:700] for d in embedded("validation").documents]
    encoded = tok.encode_result(texts)
    back = tok.decode_batch(encoded.ids)
    exact = sum(a == b for a, b in zip(back, texts))
    assert exact + encoded.ambiguous == len(texts) and exact >= len(texts) - 1


def test_bytes_is_identity():
    assert Bytes().encode(b"ab") == [97, 98] and Bytes().decode([104, 105]) == "hi"


def test_sentencepiece_exact_on_real_text():
    train = [d.data[:200_000] for d in embedded("train").documents]
    sp = SentencePiece.train(train, vocab_size=600)
    assert sp.vocab_size >= 600
    for d in embedded("validation").documents:
        text = d.data[:5000]
        assert sp.decode_bytes(sp.encode(text)) == text
    assert sp.decode(sp.encode("  two  spaces\n\nand lines\t")) == "  two  spaces\n\nand lines\t"


def test_bytes_per_token_on_texts_and_corpora(tiny_m1):
    from nct.data.corpus import Corpus, Document

    corpus = Corpus("c", (Document("a", TEXT), Document("b", TEXT[:50])))
    assert Bytes().bytes_per_token(corpus) == 1.0
    gz = build("gzip", token_bits=16)
    expected = (len(TEXT) + 50) / (len(gz.encode(TEXT)) + len(gz.encode(TEXT[:50])))
    assert gz.bytes_per_token(corpus) == pytest.approx(expected)
    eq = build("equal-info", m1=tiny_m1, token_bits=16)
    assert eq.bytes_per_token([TEXT]) == pytest.approx(len(TEXT) / len(eq.encode(TEXT)))
