"""Compute the design guide's key metrics once and print them as JSON.

    python -m app.commands.usage_stats

New users per day, returning user rate, conversations per user, archival volume and table
sizes. The agents web process publishes the same figures as Prometheus gauges, refreshed every
USAGE_STATS_INTERVAL_SECONDS; this command is for a person, a cron job or a one-off check.
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.exc import SQLAlchemyError

from app.services.identity_db import dispose_engine, get_engine
from app.services.usage_stats import as_dict, compute_usage_stats


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m app.commands.usage_stats", description=__doc__
    ).parse_args(argv)
    try:
        stats = compute_usage_stats(engine=get_engine())
    except SQLAlchemyError as exc:
        print(
            f"usage stats failed: identity database unreachable ({type(exc).__name__})",
            file=sys.stderr,
        )
        return 3
    finally:
        dispose_engine()
    print(json.dumps(as_dict(stats), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
