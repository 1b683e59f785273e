"""Run every benchmark module: ``python -m benchmarks [--quick] [name ...]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("names", nargs="*", help="run only these (e.g. eligibility duties)")
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    found = pkgutil.iter_modules([str(here)])
    modules = sorted(m.name for m in found if m.name.startswith("bench_"))
    for name in modules:
        topic = name.removeprefix("bench_")
        if args.names and topic not in args.names:
            continue
        print(f"== {topic}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
