"""`python -m guard.scan`: the same as `kguard scan`, without the rest of the CLI."""

from __future__ import annotations

import argparse
import sys

from guard.scan import add_scan_arguments, run_scan


def main() -> int:
    parser = argparse.ArgumentParser(prog="kguard scan", description="scrub a dataset file")
    add_scan_arguments(parser)
    return run_scan(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
