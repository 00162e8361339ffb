"""Validates a vCon file with the vcon library (PyPI `vcon`): prints its errors, exits 1 if any."""
import sys

from vcon import Vcon

ok, errors = Vcon.validate_file(sys.argv[1])
for e in errors:
    print(e)
sys.exit(0 if ok else 1)
