"""``python -m emulator ARGS`` is ``avatar-contract emulator ARGS``."""

import sys

from validators._cli import main

sys.exit(main(["emulator", *sys.argv[1:]]))
