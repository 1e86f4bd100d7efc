"""`make bench`: every benchmark, one JSON document per benchmark on stdout."""

from __future__ import annotations

import json

from bench import first_sync, freshness, incremental, parse_time, read_budget, tie_out, transform_throughput


def main() -> None:
    for result in (
        transform_throughput.run(100_000),
        parse_time.run(),
        first_sync.compare(scale=1.0, window=6.0),
        incremental.run(100_000),
        read_budget.run(),
        tie_out.run(100_000),
        freshness.run(samples=5),
    ):
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
