"""``python -m nct`` (as ``torchrun -m nct``): the ``nct`` command."""

import sys

from .cli import main

sys.exit(main())
