"""``python -m geosym.cli``: the ``geosym`` console script."""

import sys

from . import main

sys.exit(main())
