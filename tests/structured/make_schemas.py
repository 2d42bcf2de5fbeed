#!/usr/bin/env python3
"""Writes N JSON Schemas (Draft 2020-12), generated deterministically from a seed, for the
structured-output checks: schema_000.json, schema_001.json, ... in the output folder.

  make_schemas.py --seed S --count N --out DIR

The schemas mix what the worker's JSON Schema compiler enforces: objects nested 1 to 4 levels
with required and optional properties (additionalProperties false), string, number and mixed
enums, const, arrays (items, some prefixItems) with maxItems, strings bounded by maxLength or by
an anchored pattern or a format, integers and numbers with integer bounds, booleans, nulls, type
lists like ["string", "null"], anyOf, oneOf over disjoint types, and $defs reached by $ref.
Every value is bounded, and a schema whose longest value would run past MAX_OUTPUT_CHARS is
drawn again, so a model sampling at temperature 1 finishes within a few hundred tokens.
Each schema is checked against the Draft 2020-12 metaschema before it is written.
"""

import argparse
import json
import pathlib
import random
import sys

from jsonschema import Draft202012Validator

# The longest output a schema may allow, in characters, without whitespace between tokens; numbers
# count the 16 integer and 16 fraction digits the compiler allows at most (fewer integer digits
# when bounded).
MAX_OUTPUT_CHARS = 600
MAX_FREE_STRING = 40

WORDS = [
    "id", "name", "title", "label", "kind", "status", "count", "size", "score", "price",
    "color", "owner", "tags", "items", "enabled", "notes", "level", "code", "city", "unit",
    "value", "email", "created", "version", "rank", "mode", "active", "weight", "source", "target",
    "left", "right", "start", "end", "width", "height", "summary", "region", "limit", "offset",
]
ENUM_WORDS = [
    "red", "green", "blue", "small", "medium", "large", "low", "high", "open", "closed",
    "north", "south", "east", "west", "alpha", "beta", "draft", "final", "cat", "dog",
]
# Anchored patterns and the longest string each matches.
PATTERNS = {
    "^[a-z]{2,8}$": 8,
    "^[0-9]{3}-[0-9]{4}$": 8,
    "^[A-Z]{3}$": 3,
    "^[A-Z][a-z]{1,9}$": 10,
    "^#[0-9a-f]{6}$": 7,
    "^v[0-9]{1,2}\\.[0-9]{1,2}$": 6,
    "^(yes|no|maybe)$": 5,
    "^[a-z]{1,6}(_[a-z]{1,6}){0,2}$": 20,
}
# The longest string of each format (fractions of seconds counted to nine digits). No "email":
# the compiler's email addresses may run to a few hundred characters and it refuses maxLength
# beside a format, so they cannot be bounded; the real-world schemas have them.
FORMATS = {
    "date": 10,
    "time": 24,
    "date-time": 35,
    "uuid": 36,
    "ipv4": 15,
}


class Generator:
    """One schema's drawing: the random source, the $defs drawn so far, and how deep it goes."""

    def __init__(self, rng):
        self.rng = rng
        self.defs = {}

    def coin(self, p):
        return self.rng.random() < p

    def names(self, count):
        return self.rng.sample(WORDS, count)

    # Leaves.

    def free_string(self):
        s = {"type": "string", "maxLength": self.rng.randint(3, MAX_FREE_STRING)}
        if self.coin(0.3):
            s["minLength"] = self.rng.randint(1, min(5, s["maxLength"]))
        return s

    def string(self):
        r = self.rng.random()
        if r < 0.5:
            return self.free_string()
        if r < 0.75:
            return {"type": "string", "pattern": self.rng.choice(sorted(PATTERNS))}
        return {"type": "string", "format": self.rng.choice(sorted(FORMATS))}

    def integer(self):
        s = {"type": "integer"}
        r = self.rng.random()
        low = self.rng.choice([-1000, -50, -1, 0, 0, 1, 10])
        high = low + self.rng.choice([1, 9, 100, 1000, 100000])
        if r < 0.6:
            s["minimum"], s["maximum"] = low, high
        elif r < 0.75:
            s["exclusiveMinimum"], s["maximum"] = low - 1, high
        elif r < 0.9:
            s["minimum"] = low
        return s

    def number(self):
        s = {"type": "number"}
        r = self.rng.random()
        low = self.rng.choice([-100, -1, 0, 0, 1])
        high = low + self.rng.choice([1, 10, 1000])
        if r < 0.5:
            s["minimum"], s["maximum"] = low, high
        elif r < 0.7:
            s["exclusiveMinimum"], s["exclusiveMaximum"] = low, high
        elif r < 0.85:
            s["minimum"] = low
        return s

    def enum(self):
        r = self.rng.random()
        count = self.rng.randint(2, 5)
        if r < 0.5:
            return {"enum": self.rng.sample(ENUM_WORDS, count)}
        if r < 0.75:
            values = self.rng.sample([0, 1, 2, 3, 5, 8, 10, 42, 100, -1, -7, 0.5, 1.25, 2.5], count)
            return {"enum": values}
        pool = ["on", "off", "auto", 1, 2, 3.5, -4, True, False, None]
        return {"enum": self.rng.sample(pool, count)}

    def const(self):
        return {"const": self.rng.choice(["v1", "ok", "point", 7, 0, 2.5, True, False, None])}

    def type_list(self):
        other = self.rng.choice(["string", "integer", "number", "boolean"])
        s = {"type": [other, "null"]}
        if other == "string":
            s["maxLength"] = self.rng.randint(3, 20)
        if other == "integer":
            s["minimum"], s["maximum"] = 0, 100
        return s

    def leaf(self):
        kind = self.rng.choices(
            ["string", "integer", "number", "boolean", "null", "enum", "const", "type_list"],
            weights=[30, 15, 10, 8, 2, 14, 4, 8])[0]
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "null":
            return {"type": "null"}
        return getattr(self, kind)()

    # Composites; `depth` levels of nesting remain below this one (0: leaves only).

    def value(self, depth):
        if depth == 0:
            return self.ref_or(self.leaf) if self.coin(0.15) else self.leaf()
        kind = self.rng.choices(["object", "array", "any_of", "one_of", "leaf"],
                                weights=[45, 25, 8, 4, 18])[0]
        if kind == "leaf":
            return self.leaf()
        return getattr(self, kind)(depth)

    def object(self, depth):
        count = self.rng.randint(1, 5)
        names = self.names(count)
        props = {}
        # One property reaches the full depth; the others may stop earlier.
        deep = self.rng.randrange(count)
        for i, name in enumerate(names):
            props[name] = self.nested(depth - 1) if i == deep else self.value(
                self.rng.randint(0, depth - 1))
        required = [n for n in names if self.coin(0.6)]
        s = {"type": "object", "properties": props}
        if required:
            s["required"] = required
        s["additionalProperties"] = False
        return s

    def nested(self, depth):
        """A value whose nesting is exactly `depth` more levels."""
        if depth == 0:
            return self.leaf()
        return self.object(depth) if self.coin(0.7) else self.array(depth)

    def array(self, depth):
        max_items = self.rng.randint(1, 5)
        s = {"type": "array"}
        if self.coin(0.25):
            count = self.rng.randint(2, 3)
            s["prefixItems"] = [self.nested(depth - 1)] + [self.leaf() for _ in range(count - 1)]
            if self.coin(0.5):
                s["items"] = False
            else:
                s["items"] = self.leaf()
                s["maxItems"] = count + self.rng.randint(0, 2)
            if self.coin(0.5):
                s["minItems"] = self.rng.randint(1, count)
            return s
        s["items"] = self.nested(depth - 1) if self.coin(0.7) else self.ref_or(
            lambda: self.nested(depth - 1))
        if self.coin(0.4):
            s["minItems"] = self.rng.randint(0, min(2, max_items))
        s["maxItems"] = max_items
        return s

    def any_of(self, depth):
        branches = [self.nested(depth - 1), self.leaf()]
        if self.coin(0.3):
            branches.append({"type": "null"})
        return {"anyOf": branches}

    def one_of(self, depth):
        # Disjoint by type: an object or array, a string, and maybe a boolean.
        branches = [self.nested(depth - 1), self.free_string()]
        if self.coin(0.5):
            branches.append({"type": "boolean"})
        if branches[0].get("type") not in ("object", "array"):
            branches[0] = {"type": "integer", "minimum": 0, "maximum": 99}
        return {"oneOf": branches}

    def ref_or(self, make):
        """A $ref to a definition (new, or one drawn before), else make()."""
        if self.defs and self.coin(0.5):
            return {"$ref": "#/$defs/" + self.rng.choice(sorted(self.defs))}
        schema = make()
        name = f"{self.rng.choice(WORDS)}_{len(self.defs)}"
        self.defs[name] = schema
        return {"$ref": "#/$defs/" + name}


def longest_output(schema, defs):
    """Characters in the longest JSON value `schema` allows, without whitespace between tokens."""
    if "$ref" in schema:
        return longest_output(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "enum" in schema:
        return max(len(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return len(json.dumps(schema["const"]))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return max(longest_output(s, defs) for s in schema[key])
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return max(longest_of_type(t, schema, defs) for t in types)


def longest_of_type(t, schema, defs):
    if t in ("null", "boolean"):
        return 5
    if t == "string":
        if "maxLength" in schema:
            return 2 + schema["maxLength"]
        if "format" in schema:
            return 2 + FORMATS[schema["format"]]
        return 2 + PATTERNS[schema["pattern"]]
    if t in ("integer", "number"):
        bounds = [abs(schema[k]) for k in ("minimum", "maximum", "exclusiveMinimum",
                                            "exclusiveMaximum") if k in schema]
        int_digits = len(str(max(bounds))) if len(bounds) == 2 else 16
        return 1 + int_digits + (17 if t == "number" else 0)
    if t == "array":
        items = [longest_output(s, defs) for s in schema.get("prefixItems", [])]
        rest = schema.get("items", False)
        if rest is not False:
            items += [longest_output(rest, defs)] * (schema["maxItems"] - len(items))
        return 2 + sum(n + 1 for n in items)
    if t == "object":
        return 2 + sum(len(json.dumps(k)) + 2 + longest_output(s, defs)
                       for k, s in schema["properties"].items())
    raise ValueError(f"unknown type {t}")


def make_schema(rng):
    """One schema whose longest output fits MAX_OUTPUT_CHARS, drawn again until one does."""
    while True:
        gen = Generator(rng)
        depth = rng.randint(1, 4)
        root = gen.object(depth) if rng.random() < 0.9 else gen.array(depth)
        if longest_output(root, gen.defs) > MAX_OUTPUT_CHARS:
            continue
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        schema.update(root)
        if gen.defs:
            schema["$defs"] = gen.defs
        return schema


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    for i in range(args.count):
        schema = make_schema(rng)
        Draft202012Validator.check_schema(schema)
        (args.out / f"schema_{i:03d}.json").write_text(json.dumps(schema, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
