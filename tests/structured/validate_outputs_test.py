#!/usr/bin/env python3
"""Checks the structured-output checkers themselves, without a model: every Lark grammar and
real-world schema accepts hand-written outputs of its format and rejects near misses, the
validator fails unfinished and malformed records, and make_schemas.py is deterministic and
writes valid Draft 2020-12 schemas.

  validate_outputs_test.py SOURCE_DIR     (run with the test venv's python)
"""

import json
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import validate_outputs  # noqa: E402

# Per grammar: outputs in its language, and outputs just outside it.
GRAMMAR_CASES = {
    "arithmetic": (
        ["1", "-2.5", "3 + 4", "(1+2)*3", "((1 - 2) / 3) * -4.25", "12 * (3 + (4 / 5)) - 6",
         "1 + 2 + 3 + 4 + 5"],
        ["", "1 +", "(1)", "1 ++ 2", "1234567", "((((1))))", "1 + 2 + 3 + 4 + 5 + 6", "1.23456"],
    ),
    "csv_table": (
        ["name,age,city\nAnn,34,Paris\nBo,7,New York\n",
         "name,age,city\nA,1,Ab\nB,2,Cd\nC,3,Ef\nD,99,Gh Ij\n"],
        ["name,age,city\nAnn,34,Paris\n", "name,age,city\nAnn,34,Paris\nBo,7,New York",
         "name,age,city\nann,34,Paris\nBo,7,Rome\n", "name,age,city\nAnn,0,Paris\nBo,7,Rome\n",
         "name,age,city\nA,1,Ab\nB,2,Cd\nC,3,Ef\nD,4,Gh\nE,5,Ij\n"],
    ),
    "yes_no": (
        ["Yes. Because it rains.", "No. It is, in fact, not true.", "Yes. X.", "No. Never, don't.",
         "Yes. " + " ".join(["A"] + ["b"] * 19) + "."],
        ["Yes", "Maybe. It depends.", "yes. It rains.", "No. it rains.", "No. It rains",
         "Yes. " + " ".join(["A"] + ["b"] * 20) + "."],
    ),
    "key_value": (
        ["port=8080\n",
         "# server settings\nhost=\"127.0.0.1\"\ndebug=false\nlog_dir=\"/var/log\"\n"],
        ["", "port=8080", "Port=1\n", "port = 1\n", "name=bob\n", "a=1\n" * 7],
    ),
    "sql_select": (
        ["SELECT * FROM users;",
         "SELECT id, name FROM users WHERE age >= 18 AND city = 'Paris' ORDER BY name DESC"
         " LIMIT 10;",
         "SELECT a FROM t WHERE b != -3 OR c < 'x' ORDER BY a;"],
        ["SELECT * FROM users", "select * from users;", "SELECT * FROM users LIMIT 0;",
         "SELECT * FROM users WHERE a=1;", "SELECT a,b FROM t;"],
    ),
}

# Per real-world schema: valid outputs, and invalid ones.
SCHEMA_CASES = {
    "tool_call": (
        ['{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}',
         '{"name":"send_email","arguments":{"to":["a@b.org"],"subject":"hi","body":""}}'],
        ['{"name": "get_weather", "arguments": {"query": "Oslo"}}',
         '{"name": "search_web", "arguments": {"query": ""}}',
         '{"name": "send_email", "arguments": {"to": ["nobody"], "subject": "", "body": ""}}'],
    ),
    "address_book": (
        ['{"contacts": [{"name": "Ann", "phone": "555-123-4567", "address": {"street": "1 Main St",'
         ' "city": "Springfield", "postal_code": "12345", "country": null}}]}'],
        ['{"contacts": []}', '{"contacts": [{"name": "Ann", "phone": "5551234567"}]}',
         '{"contacts": [{"name": "Ann", "phone": "555-123-4567", "nickname": "A"}]}'],
    ),
    "recipe": (
        ['{"title": "Tea", "ingredients": [{"name": "water", "quantity": 0.25, "unit": "l"}],'
         ' "steps": ["Boil the water."]}'],
        ['{"title": "Tea", "ingredients": [{"name": "water", "quantity": 0, "unit": "l"}],'
         ' "steps": ["Boil."]}',
         '{"title": "Tea", "ingredients": [{"name": "water", "quantity": 1, "unit": "pint"}],'
         ' "steps": ["Boil."]}'],
    ),
    "classification": (
        ['{"label": "neutral", "confidence": 0.5, "secondary": null}',
         '{"label":"positive","confidence":1}'],
        ['{"label": "neutral", "confidence": 1.5}', '{"label": "mixed", "confidence": 0.5}'],
    ),
    "calendar_event": (
        ['{"id": "123e4567-e89b-12d3-a456-426614174000", "title": "Standup",'
         ' "start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:15:00+01:00", "location": null}'],
        ['{"id": "123e4567-e89b-12d3-a456-426614174000", "title": "Standup",'
         ' "start": "2025-02-30T09:00:00Z", "end": "2025-03-01T09:15:00Z"}',
         '{"id": "123e4567-e89b-12d3-a456-426614174000", "title": "Standup",'
         ' "start": "2025-03-01 09:00", "end": "2025-03-01T09:15:00Z"}',
         '{"id": "not-a-uuid", "title": "Standup",'
         ' "start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:15:00Z"}'],
    ),
    "log_record": (
        ['{"date": "2024-02-29", "time": "23:59:59.5Z", "level": "info", "client": "10.0.0.1",'
         ' "method": "GET", "path": "/api/v1", "status": 200, "latency_ms": 12.5}'],
        ['{"date": "2023-02-29", "time": "12:00:00Z", "level": "info", "client": "10.0.0.1",'
         ' "method": "GET", "path": "/", "status": 200}',
         '{"date": "2024-01-01", "time": "12:00:00", "level": "info", "client": "10.0.0.1",'
         ' "method": "GET", "path": "/", "status": 200}',
         '{"date": "2024-01-01", "time": "12:00:00Z", "level": "info", "client": "10.0.0.256",'
         ' "method": "GET", "path": "/", "status": 200}'],
    ),
}


def main():
    source = pathlib.Path(sys.argv[1]).resolve()
    validators = validate_outputs.Validators()
    failures = []

    def expect(record, valid):
        problem = validators.problem(record)
        if (problem is None) != valid:
            failures.append(f"{record['case']}: {json.dumps(record['output'])} was "
                            f"{'rejected: ' + problem if problem else 'accepted'}")

    good_records = []
    for name, (good, bad) in GRAMMAR_CASES.items():
        lark_path = str(source / "tests/fixtures/grammars" / f"{name}.lark")
        for valid, outputs in ((True, good), (False, bad)):
            for output in outputs:
                record = {"case": name, "grammar": lark_path[:-4] + "gbnf", "lark": lark_path,
                          "output": output, "finish": "stop"}
                expect(record, valid)
                if valid:
                    good_records.append(record)
    for name, (good, bad) in SCHEMA_CASES.items():
        schema_path = str(source / "tests/fixtures/schemas/real" / f"{name}.json")
        for valid, outputs in ((True, good), (False, bad)):
            for output in outputs:
                record = {"case": name, "schema": schema_path, "output": output, "finish": "stop"}
                expect(record, valid)
                if valid:
                    good_records.append(record)
    # Each grammar and schema has a case here.
    for folder, suffix, cases in (("grammars", ".lark", GRAMMAR_CASES),
                                  ("schemas/real", ".json", SCHEMA_CASES)):
        for path in (source / "tests/fixtures" / folder).glob("*" + suffix):
            if path.stem not in cases:
                failures.append(f"{path} has no cases here")

    # A valid output cut by max_tokens, or a malformed record, fails.
    expect(dict(good_records[0], finish="length"), False)
    expect({"case": "no format", "output": "{}", "finish": "stop"}, False)

    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        # The command line: all-valid passes; one bad line fails and is named; empty fails.
        lines = [json.dumps(dict(r, model="m")) for r in good_records]
        (work / "good.jsonl").write_text("\n".join(lines) + "\n")
        (work / "bad.jsonl").write_text("\n".join(lines + ['{"case": "broken", "output": 1'])
                                        + "\n")
        (work / "empty.jsonl").write_text("")
        for file, rc_want, text_want in (("good", 0, f"{len(lines)} passed, 0 failed"),
                                         ("bad", 1, "FAIL line"), ("empty", 1, "no results")):
            run = subprocess.run([sys.executable, str(HERE / "validate_outputs.py"),
                                  str(work / f"{file}.jsonl")], capture_output=True, text=True)
            if run.returncode != rc_want or text_want not in run.stdout:
                failures.append(f"validate_outputs.py {file}.jsonl: exit {run.returncode}, "
                                f"output {run.stdout!r}")

        # make_schemas.py: the same seed writes the same files, another seed others; all valid.
        def make(seed, out):
            subprocess.run([sys.executable, str(HERE / "make_schemas.py"), "--seed", str(seed),
                            "--count", "20", "--out", str(work / out)], check=True)
            return [p.read_text() for p in sorted((work / out).glob("schema_*.json"))]

        first, again, other = make(1, "a"), make(1, "b"), make(2, "c")
        if len(first) != 20 or first != again:
            failures.append("make_schemas.py is not deterministic for one seed")
        if first == other:
            failures.append("make_schemas.py writes the same schemas for seeds 1 and 2")

    for failure in failures:
        print("FAIL:", failure)
    checked = sum(len(g) + len(b) for g, b in list(GRAMMAR_CASES.values()) +
                  list(SCHEMA_CASES.values()))
    print(f"{checked} hand-written outputs checked; {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
