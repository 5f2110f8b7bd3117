"""``python -m avatar_contract ARGS`` is ``avatar-contract ARGS``."""

from avatar_contract.validators._cli import entry

if __name__ == "__main__":
    entry()
