"""``python -m avatar_contract.emulator ARGS`` is ``avatar-contract emulator ARGS``."""

import sys

from avatar_contract.validators._cli import main

sys.exit(main(["emulator", *sys.argv[1:]]))
