"""nct's one error hierarchy: what a user can act on, as opposed to a bug.

Every error nct raises on purpose is an ``NctError``; the command line turns exactly these into a
one-line ``nct: error: ...`` and exit status 1 (``nct --debug`` adds the traceback). Any other
exception escaping the library is a bug and is shown with its traceback.

    NctError
    ├── UsageError          a bad option or parameter value from the caller (also a ValueError)
    ├── InputError          an input that cannot be read (missing, a directory, no permission)
    │   ├── MissingInput    a named file or directory that does not exist (also a FileNotFoundError)
    │   └── BadInput        an input whose content is not what it should be (a record without text; also a ValueError)
    ├── OutputError         an output that cannot be written completely (exists, disk full, closed pipe)
    ├── ModelError          a model that cannot be loaded or does not fit the task (also a ValueError)
    ├── WorkerDied          a worker process killed before it finished its part (out of memory, a signal)
    └── ArchiveError        an archive that cannot be decoded (also a ValueError)
        ├── CorruptArchive      damaged, truncated or crafted: bad framing, checksum, header or lengths
        │   └── CorruptPayload  a payload its compressor cannot decode
        ├── UnsupportedArchive  a format version or method this build does not decode
        └── WrongModel          made with another model than the one given

This module imports nothing, so any part of nct (and the CLI before torch is loaded) can use it.
"""

from __future__ import annotations


class NctError(Exception):
    """An error the user can act on: reported as one line, exit status 1."""


class UsageError(NctError, ValueError):
    """A bad option or parameter value (a block size of 0, a negative count, an unknown method)."""


class InputError(NctError):
    """An input that cannot be read."""


class MissingInput(InputError, FileNotFoundError):
    """A file or directory the user named that does not exist (a corpus, shards, a preset)."""


class BadInput(InputError, ValueError):
    """An input that opens but does not read as what it should be: a damaged file, a record without ``text``."""


class OutputError(NctError):
    """An output that cannot be written, or not completely (short write, closed pipe, full disk)."""


class ModelError(NctError, ValueError):
    """A model file that cannot be loaded, or a model that does not fit the task."""


class WorkerDied(NctError, RuntimeError):
    """A worker process that was killed before it finished its part (out of memory, a signal)."""


class ArchiveError(NctError, ValueError):
    """An archive that cannot be decoded (corrupt, truncated, unsupported, or the wrong model)."""


class CorruptArchive(ArchiveError):
    """An archive whose framing, checksum, header or stated lengths are wrong."""


class CorruptPayload(CorruptArchive):
    """A payload that its compressor cannot decode (or that claims more than it can hold)."""


class UnsupportedArchive(ArchiveError):
    """A format version, method or parameter this build does not decode."""


class WrongModel(ArchiveError):
    """An archive made with another model than the one given."""
