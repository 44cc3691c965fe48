"""``python -m nct.cli``: the ``nct`` command."""

import sys

from . import main

sys.exit(main())
