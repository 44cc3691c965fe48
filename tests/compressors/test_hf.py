import pytest

from nct.compressors import get
from nct.compressors.base import CorruptPayload
from nct.eval.bench import main_bench
from nct.errors import ModelError

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_hf(tmp_path_factory):
    """A randomly initialised GPT-2 with a byte-level BPE tokenizer, saved to disk (no download)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("hf")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["the cat sat on the mat. " * 50], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    fast.save_pretrained(out)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(fast), n_positions=64, n_embd=32, n_layer=2, n_head=2)).save_pretrained(out)
    return out


@pytest.mark.parametrize(
    "data", [b"", b"the cat sat on the mat.", "h\u00e9llo w\u00f6rld \u2603".encode(), bytes(range(256)), b"\xff\xfe" * 100]
)
def test_round_trip(tiny_hf, data):
    c = get("hf", path=tiny_hf)
    assert c.decompress(c.compress(data)) == data  # binary and long inputs: Latin-1, context restarts


def test_blocks_in_lockstep_batches_round_trip_and_are_independent(tiny_hf):
    from nct.compressors.hf import HFCompressor

    data = "the cat sat on the mat. \u2603 ".encode() * 12
    small = HFCompressor(tiny_hf, block=7, batch=3)  # several batches of ragged length; the last block shorter
    payload = small.compress(data)
    assert small.decompress(payload) == data and small.params()["block"] == 7
    assert HFCompressor(tiny_hf, block=200).block == 63  # a block and its start token fit the 64-token context
    for other in (get("hf", path=tiny_hf), HFCompressor(tiny_hf, block=7, batch=5)):  # a float model's CDFs depend on both
        with pytest.raises(CorruptPayload, match="decode it with block=7, batch=3"):
            other.decompress(payload)
    with pytest.raises(CorruptPayload, match="truncated"):
        small.decompress(payload[:-3])


def test_tokens_make_repeated_text_shorter(tiny_hf):
    c = get("hf", path=tiny_hf)
    data = b"the cat sat on the mat. " * 8
    assert len(c.compress(data)) < len(data)  # BPE tokens: fewer symbols than bytes


def test_missing_or_wrong_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no such Hugging Face model directory"):
        get("hf", path=tmp_path / "absent")
    with pytest.raises(ModelError, match="not a loadable causal LM"):
        get("hf", path=tmp_path)


def test_a_damaged_payload_is_refused(tiny_hf):
    with pytest.raises(CorruptPayload):
        get("hf", path=tiny_hf).decompress(b"\x07")
    from nct.coding.varint import write_varint

    c = get("hf", path=tiny_hf)
    crafted = b"\x00" + write_varint(10**15) + write_varint(c.block) + write_varint(c.batch) + b"\x01\x00"
    with pytest.raises(CorruptPayload, match="truncated"):  # refused before a list of 10^12 block lengths
        c.decompress(crafted)


def test_bench_with_a_hugging_face_model(tiny_hf, tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"the cat sat on the mat. " * 20)
    result = main_bench(data=[str(f)], methods=["ac", "gzip"], model=f"hf:{tiny_hf}", chunk=128)
    rows = {r["method"]: r for r in result["rows"] if r["data"] == "t.txt"}
    assert rows["hf"]["verified"] and rows["hf"]["adjusted_bits_per_byte"] > rows["hf"]["bits_per_byte"]


def test_a_gguf_file_or_a_directory_holding_one_is_located(tmp_path):
    from nct.compressors.hf import locate

    (tmp_path / "m.Q4_1.gguf").write_bytes(b"GGUF")
    assert locate(tmp_path / "m.Q4_1.gguf") == (tmp_path, "m.Q4_1.gguf")
    assert locate(tmp_path) == (tmp_path, "m.Q4_1.gguf")
    (tmp_path / "config.json").write_text("{}")  # a save_pretrained directory: its config wins
    assert locate(tmp_path) == (tmp_path, None)
    with pytest.raises(ModelError, match="no such"):
        locate(tmp_path / "missing.gguf")
