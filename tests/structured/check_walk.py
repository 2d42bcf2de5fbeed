#!/usr/bin/env python3
"""Validates the strings grammar_walk generates from JSON schemas with Python's jsonschema.

  check_walk.py GRAMMAR_WALK SCHEMA_OR_DIR... [--count N]

For each schema file (a directory stands for the *.json files in it), runs
`GRAMMAR_WALK --count N --seed S FILE` with a few seeds and budgets, and checks every string it
prints: it must parse as JSON and validate under Draft 2020-12 with formats checked. Prints one
line per failure and a summary; exits 1 when anything failed or no string was checked.
"""

import json
import pathlib
import subprocess
import sys

from jsonschema import Draft202012Validator


def schema_files(args):
    for arg in args:
        path = pathlib.Path(arg)
        yield from sorted(path.glob("*.json")) if path.is_dir() else [path]


def main(argv):
    count = 40
    if "--count" in argv:
        i = argv.index("--count")
        count = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    walker = argv[1]
    failures, checked = [], 0
    for path in schema_files(argv[2:]):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        # The draft's own format checker: a bare FormatChecker() checks "time" as Draft 3's.
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for seed, budget in ((1, 60), (2, 200), (3, 1000)):
            run = subprocess.run(
                [walker, "--count", str(count), "--seed", str(seed), "--budget", str(budget),
                 str(path)], capture_output=True, text=True, check=False)
            if run.returncode != 0:
                failures.append(f"{path.name}: grammar_walk failed: {run.stderr.strip()}")
                continue
            for line in run.stdout.split("\n")[:-1]:  # not splitlines: U+2028 is no end
                text = json.loads(line)
                checked += 1
                try:
                    value = json.loads(text)
                except ValueError as e:
                    failures.append(f"{path.name}: not JSON ({e}): {text!r}")
                    continue
                errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
                if errors:
                    failures.append(f"{path.name}: {errors[0].message} at "
                                    f"{list(errors[0].absolute_path)}: {text!r}")
    for failure in failures:
        print(failure)
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
