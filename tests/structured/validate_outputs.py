#!/usr/bin/env python3
"""Checks constrained outputs against independent validators.

  validate_outputs.py RESULTS.jsonl

Each line of RESULTS.jsonl is one generation:
  {"case": NAME, "model": MODEL, "schema": PATH, "output": TEXT, "finish": REASON}
  {"case": NAME, "model": MODEL, "grammar": PATH, "lark": PATH, "output": TEXT, "finish": REASON}
("model" is optional and only groups the summary). A case passes when it finished with "stop"
(the output is complete, not cut by max_tokens) and its output is valid: for a schema, it parses
as JSON and validates under Draft 2020-12 with its formats checked; for a grammar, the equivalent
Lark grammar (Earley, dynamic lexer, start rule `start`) parses all of it. Prints one line per
failure and a summary, and exits 1 when any case failed or there were none.
"""

import collections
import json
import sys

import lark
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match


class Validators:
    """Compiled schemas and Lark parsers, each built once per path."""

    def __init__(self):
        self.schemas = {}
        self.parsers = {}

    def schema(self, path):
        if path not in self.schemas:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            # The draft's own format checker: a bare FormatChecker() checks "time" as Draft 3's
            # HH:MM:SS, without the offset that Draft 2020-12 (RFC 3339) requires.
            self.schemas[path] = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return self.schemas[path]

    def parser(self, path):
        if path not in self.parsers:
            with open(path, encoding="utf-8") as f:
                self.parsers[path] = lark.Lark(f.read(), start="start", parser="earley",
                                               lexer="dynamic")
        return self.parsers[path]

    def problem(self, record):
        """Why `record` fails, or None when it passes."""
        if record.get("finish") != "stop":
            return f"finished with {record.get('finish')!r}, not 'stop'"
        output = record["output"]
        if "schema" in record:
            try:
                value = json.loads(output)
            except json.JSONDecodeError as e:
                return f"not JSON: {e}"
            error = best_match(self.schema(record["schema"]).iter_errors(value))
            if error is not None:
                where = "/" + "/".join(str(p) for p in error.absolute_path)
                return f"invalid at {where}: {error.message}"
            return None
        if "lark" in record:
            try:
                self.parser(record["lark"]).parse(output)
            except lark.exceptions.LarkError as e:
                return "not in the grammar: " + " ".join(str(e).split())[:200]
            return None
        return "record names neither a schema nor a grammar"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    validators = Validators()
    passed, failed = collections.Counter(), collections.Counter()
    with open(sys.argv[1], encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                problem = validators.problem(record)
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                record, problem = {"case": f"line {number}"}, f"bad record: {e}"
            model = record.get("model", "all")
            if problem is None:
                passed[model] += 1
                continue
            failed[model] += 1
            output = json.dumps(record.get("output"))
            print(f"FAIL {record.get('case')}: {problem}; output: {output}")
    for model in sorted(set(passed) | set(failed)):
        print(f"{model}: {passed[model]} passed, {failed[model]} failed")
    total_passed, total_failed = sum(passed.values()), sum(failed.values())
    print(f"{total_passed} passed, {total_failed} failed")
    if total_passed + total_failed == 0:
        print("no results to validate")
        return 1
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
