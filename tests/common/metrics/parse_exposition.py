#!/usr/bin/python3
"""Parses a Prometheus text exposition with the Prometheus Python client's own
parser (Debian's python3-prometheus-client) and prints every sample as one
JSON object a line:

  {"family": "...", "type": "counter", "name": "...", "labels": {...}, "value": "1796610650.123"}

The value is Python's repr() of the parsed float (so +Inf and NaN survive
JSON as "inf" and "nan"). Exits 1, naming the problem on stderr, when the
parser refuses the text or when it read fewer or more samples than the text
has sample lines (a parser that skipped a line it did not understand).

Usage: parse_exposition.py FILE
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    sample_lines = [
        line for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.append({
                    "family": family.name,
                    "type": family.type,
                    "name": sample.name,
                    "labels": dict(sample.labels),
                    "value": repr(float(sample.value)),
                })
    except Exception as error:  # the parser's own complaint, whatever its type
        print(f"prometheus_client refused the text: {error!r}", file=sys.stderr)
        return 1
    if len(samples) != len(sample_lines):
        print(f"{len(sample_lines)} sample lines but {len(samples)} samples parsed",
              file=sys.stderr)
        return 1
    for sample in samples:
        print(json.dumps(sample, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
