"""The heavy schemathesis run: ``python -m bench.fuzz [--examples 200] [--scenarios 500]``.

The same tests as CI's ``tests/serving/test_schemathesis.py`` (every operation, admin key, every check but
``positive_data_acceptance``), with more generated cases per operation, a longer stateful phase and new random cases
each run (CI replays fixed ones). Prints the time and the outcome; exits non-zero when a server error or a schema
violation was found.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="generated cases per operation (plus examples)")
    parser.add_argument("--scenarios", type=int, default=500, help="stateful scenarios (call sequences)")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "RECSYS_FUZZ_EXAMPLES": str(args.examples),
        "RECSYS_FUZZ_STATEFUL": str(args.scenarios),
        "RECSYS_FUZZ_RANDOM": "1",
    }
    start = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/serving/test_schemathesis.py",
        "tests/serving/test_schemathesis_more.py",
    ]
    code = subprocess.run(command, env=env, check=False).returncode
    seconds = time.perf_counter() - start
    outcome = "no server error, no schema violation" if code == 0 else f"FAILED (pytest exit {code})"
    print(
        f"bench.fuzz: {args.examples} generated cases per operation, {args.scenarios} stateful scenarios: "
        f"{outcome} in {seconds:.0f} s"
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
