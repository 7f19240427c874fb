"""``python -m hearing_assist`` runs the CLI."""

import sys

from hearing_assist.cli import main

sys.exit(main())
