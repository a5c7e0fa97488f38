"""The fault suite: nothing acknowledged is lost, under each fault, on real processes.

For every scenario it starts its own redis-server, a TCP proxy in front of PostgreSQL (a private
migrated database, dropped at the end), two agents processes with the in-app archiver and one
archiver worker, all on free loopback ports; drives a chat load (clients that retry a failed
message with the same ``message_id``, moving between the two agents processes); injects the
fault; then runs ``python -m app.workers.archiver --all`` and counts from PostgreSQL.

    agents_kill              one agents process SIGKILLed mid-load (clients move to the other)
    postgres_cut             PostgreSQL unreachable for 30 s (--short: 5 s)
    redis_kill_aof           Redis SIGKILLed and restarted, AOF appendfsync everysec
    redis_kill_no_aof        the same without AOF: losses must be reported to their users
    worker_kill              the worker SIGKILLed inside a batch write, then restarted
    worker_starts_in_outage  the worker started during a PostgreSQL outage longer than what
                             is left of the conversations' TTL (TTL 60 s, 75 s outage)

Prints a table, then (last line) the JSON ``{"scenarios": {name: {sent, replied, stored, lost,
duplicated, errors, ...}}}``. Exits 1 when a scenario lost an acknowledged message (for Redis
without AOF: one its user was not told about) or stored one twice, 0 otherwise.

    .venv/bin/python bench/faults.py                 # full run, a few minutes
    .venv/bin/python bench/faults.py --short         # seconds each (part of make test)
    .venv/bin/python bench/faults.py --scenarios postgres_cut,worker_kill --clients 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from fault_scenarios import SCENARIOS, Options, run_scenario

COLUMNS = ("sent", "replied", "stored", "lost", "duplicated", "errors")
DETAILS = (
    "lost_everysec_window", "lost_reported", "lost_reported_as_new", "lost_unreported", "restored_notices",
    "missing_on_resume", "killed_mid_batch", "worker_alive_through_outage",
    "archived_whole_by_worker", "live_at_restore", "outage_s", "dropped_sockets",
)  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list")
    parser.add_argument("--clients", type=int, help="chat clients (default 80; --short 8)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 40; --short 6)")
    parser.add_argument("--short", action="store_true", help="small load, short outages")
    parser.add_argument(
        "--lanes", type=int, help="scenarios run side by side (default 1; --short 2)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep every process log")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIOS)}")
    args.names = names
    if args.clients is not None and not 1 <= args.clients <= 500:
        parser.error("--clients must be between 1 and 500")
    if args.duration is not None and not 3 <= args.duration <= 600:
        parser.error("--duration must be between 3 and 600 seconds")
    if args.lanes is not None and not 1 <= args.lanes <= 6:
        parser.error("--lanes must be between 1 and 6")
    return args


def table(results: dict[str, dict[str, Any]]) -> str:
    header = ["scenario", *COLUMNS, "--all", "seconds", "ok"]
    rows = [
        [
            name,
            *(str(result.get(column, "-")) for column in COLUMNS),
            str(result.get("archiver_all_exit", "-")),
            str(result.get("seconds", "-")),
            "yes" if result.get("ok") else "NO",
        ]
        for name, result in results.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]  # fmt: skip
    lines.insert(1, "  ".join("-" * width for width in widths))
    for name, result in results.items():
        details = [f"{key}={result[key]}" for key in DETAILS if key in result]
        details += [
            f"{log} logged {sum(found.values())} tracebacks ({'; '.join(sorted(found))})"
            for log, found in result.get("tracebacks", {}).items()
        ]
        details += result.get("notes", []) + [f"FAILED: {f}" for f in result["failures"]]
        if "logs" in result:
            details.append(f"logs in {result['logs']}")
        if details:
            lines.append(f"{name}: " + ", ".join(details))
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    options = Options(
        short=args.short,
        clients=args.clients or (8 if args.short else 80),
        duration=args.duration or (6.0 if args.short else 40.0),
        keep_logs=args.keep_logs,
    )
    lanes = args.lanes or (2 if args.short else 1)
    results: dict[str, dict[str, Any]] = {}

    async def lane(names: list[str]) -> None:
        for name in names:
            print(f"{name}: {SCENARIOS[name].title} ...", file=sys.stderr, flush=True)
            results[name] = await run_scenario(name, options)

    await asyncio.gather(*(lane(names) for names in share_out(args.names, lanes)))
    return {name: results[name] for name in args.names}


def share_out(names: list[str], lanes: int) -> list[list[str]]:
    """Longest first, each to the lane with the least work so far (one lane: as asked)."""
    if lanes == 1:
        return [names]
    shares: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(lanes)]
    for name in sorted(names, key=lambda n: -SCENARIOS[n].weight):
        index = min(range(lanes), key=lambda i: shares[i][0])
        work, share = shares[index]
        shares[index] = (work + SCENARIOS[name].weight, [*share, name])
    return [share for _, share in shares if share]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    results = asyncio.run(run(args))
    mode = "short" if args.short else "full"
    print(table(results))
    print(f"{len(results)} scenarios ({mode}) in {time.monotonic() - started:.0f} s")
    print(json.dumps({"scenarios": results}, sort_keys=False))
    return 0 if all(result["ok"] for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
