"""``python -m geosym``: the ``geosym`` console script."""

import sys

from .cli import main

sys.exit(main())
