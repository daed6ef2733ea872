"""``python -m zerograd``: the ``zerograd`` command."""

import sys

from .cli import main

sys.exit(main())
