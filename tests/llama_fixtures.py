"""A tiny random Llama engine with a real byte-level BPE tokenizer (no download, no wheel)."""

from __future__ import annotations

import functools

from nct.models.llama import Llama, LlamaConfig, random_weights

TEXT = "the cat sat on the mat. the dog sat on the log. 0123456789\n" * 20


@functools.cache
def tokenizer_json(full_alphabet: bool = False) -> str:
    """A byte-level BPE tokenizer trained on TEXT, with ``<|endoftext|>``; without ``full_alphabet``
    it has single-byte tokens only for the bytes TEXT holds (so other bytes are escaped)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet() if full_alphabet else []
    tok.train_from_iterator([TEXT], trainers.BpeTrainer(vocab_size=300 if full_alphabet else 120, special_tokens=["<|endoftext|>", "<|im_start|>"],
                                                        initial_alphabet=alphabet, show_progress=False))
    return tok.to_str()


def tiny_config(vocab_size: int, d_mlp: int = 1100) -> LlamaConfig:
    """Two layers, grouped-query attention (4 heads over 2), an MLP wider than 1,024 (split sums)."""
    return LlamaConfig(vocab_size=vocab_size, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_mlp=d_mlp, rope_theta=10000.0,
                       bos=1, context=96)


@functools.cache
def tiny_llama(seed: int = 0, full_alphabet: bool = False) -> Llama:
    """The tiny engine (meta model name ``tiny-llama``)."""
    from tokenizers import Tokenizer

    tok = tokenizer_json(full_alphabet)
    cfg = tiny_config(Tokenizer.from_str(tok).get_vocab_size())
    return Llama.from_weights(cfg, random_weights(cfg, seed), tok, {"model": "tiny-llama"})


def register_tiny(monkeypatch) -> Llama:
    """The tiny engine as the pretrained registry's ``tiny-llama``, loaded already (as ``pretrained.load`` keeps them)."""
    from nct.models import pretrained

    monkeypatch.setitem(pretrained.PRETRAINED, "tiny-llama", pretrained.Pretrained("tiny-llama", "none", "none", "", "", "", ""))
    monkeypatch.setitem(pretrained._LOADED, ("tiny-llama", "cpu"), tiny_llama())
    return tiny_llama()
