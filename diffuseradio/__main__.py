"""``python -m diffuseradio``: the command line (see :mod:`diffuseradio.cli`)."""

import sys

from .cli import main

sys.exit(main())
