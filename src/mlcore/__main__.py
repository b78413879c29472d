"""``python -m mlcore``: the command line."""

import sys

from mlcore.cli import main

sys.exit(main())
