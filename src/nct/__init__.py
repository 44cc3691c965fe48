"""nct: neurally compressed text. Language models as exact lossless compressors (LMIC), and the
pieces to train language models over neurally compressed text (TLNCT).

The names below are imported when first used, so that ``import nct`` (and the ``nct`` command's
start) does not load PyTorch until something needs it.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
__all__ = [
    "ArchiveError", "M1", "NctError", "Transformer", "TransformerConfig", "compress", "compressor", "decompress", "inspect",
]
_WHERE = {
    "compress": ".api", "compressor": ".api", "decompress": ".api", "inspect": ".api",
    "ArchiveError": ".errors", "NctError": ".errors",
    "M1": ".models.m1", "Transformer": ".models.transformer", "TransformerConfig": ".models.transformer",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'nct' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
