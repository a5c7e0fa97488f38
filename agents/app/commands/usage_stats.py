"""Compute the design guide's key metrics once and print them as JSON.

    python -m app.commands.usage_stats

New users per day, returning user rate, conversations per user, archival volume and table
sizes. The agents web process publishes the same figures as Prometheus gauges, refreshed every
USAGE_STATS_INTERVAL_SECONDS; this command is for a person, a cron job or a one-off check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from app.config import get_settings
from app.exceptions import StoreUnavailable
from app.services.identity_db import close_pool, create_pool
from app.services.usage_stats import UsageStats, as_dict, compute_usage_stats
from shared.errors import describe


async def _compute() -> UsageStats:
    pool = await create_pool(get_settings(), application_name="hirecj-usage-stats", size=1)
    try:
        return await compute_usage_stats(pool=pool)
    finally:
        await close_pool(pool)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m app.commands.usage_stats", description=__doc__
    ).parse_args(argv)
    try:
        stats = asyncio.run(_compute())
    except StoreUnavailable as exc:
        print(
            f"usage stats failed: identity database unreachable ({describe(exc.__cause__ or exc)})",
            file=sys.stderr,
        )
        return 3
    print(json.dumps(as_dict(stats), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
