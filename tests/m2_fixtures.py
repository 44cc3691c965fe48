"""Shared by the M2 tests: a tiny model config and a toy corpus."""

from nct.data.corpus import Corpus, Document
from nct.models.transformer import TransformerConfig

TINY = TransformerConfig(d_model=32, n_layers=1, n_heads=2, n_kv_heads=2, d_mlp=64, context=32, position_bias="alibi")
CORPUS = Corpus("toy", tuple(Document(f"d{i}", b"abracadabra, said the wizard. " * (2 + i % 3)) for i in range(30)))
