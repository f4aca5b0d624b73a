"""Runs deft-report: `python3 reporters/deft_report ...` or, with
reporters/ on PYTHONPATH, `python3 -m deft_report ...`."""
import os
import sys

if __package__ in (None, ""):
    # Run as a directory: its parent must be on the path instead of itself,
    # so that the package imports and its modules shadow nothing.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from deft_report.cli import main  # noqa: E402

sys.exit(main())
