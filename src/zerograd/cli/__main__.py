"""``python -m zerograd.cli``: the ``zerograd`` command."""

import sys

from . import main

sys.exit(main())
