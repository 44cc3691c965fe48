"""nct: neurally compressed text. Language models as exact lossless compressors (LMIC), and the
pieces to train language models over neurally compressed text (TLNCT)."""

from .api import compress, compressor, decompress, inspect
from .container import ArchiveError
from .models.m1 import M1
from .models.transformer import Transformer, TransformerConfig

__version__ = "0.1.0"
__all__ = ["ArchiveError", "M1", "Transformer", "TransformerConfig", "compress", "compressor", "decompress", "inspect"]
