"""``python -m scmreader`` runs the command."""

import sys

from scmreader.cli import main

sys.exit(main())
