"""``python -m vidseg``."""

import sys

from vidseg.cli.main import main

sys.exit(main())
