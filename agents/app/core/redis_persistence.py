"""What Redis keeps across a restart, read once at start, shown on /health and /metrics.

Live conversations exist only in Redis until they are archived. With AOF (``appendonly yes``,
``appendfsync everysec``) a restarted Redis comes back with them, at most about a second of
writes short (two when its disk is slow: it postpones the write while an fsync is pending);
without it a restart drops everything not yet archived, and the chat can only restore what the
archive holds, marked ``restored``. So production refuses to start on a Redis known to run
without AOF, unless REDIS_ALLOW_VOLATILE=true says the risk is accepted. Managed Redis often
refuses CONFIG: then nobody can tell, and the service says so and starts.
"""

from __future__ import annotations

import logging

from prometheus_client import Gauge

from shared.redis_client import AnyRedis, Persistence, read_persistence
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

MODES = ("aof", "none", "unknown")
REDIS_PERSISTENCE = Gauge(
    "hirecj_redis_persistence",
    "What Redis keeps across a restart, as read at start: 1 for the current mode",
    ["mode"],
)


class VolatileRedisError(RuntimeError):
    """Production on a Redis without AOF, and REDIS_ALLOW_VOLATILE is not set."""


def publish_persistence(persistence: Persistence) -> None:
    for mode in MODES:
        REDIS_PERSISTENCE.labels(mode).set(1 if persistence.mode == mode else 0)


async def check_redis_persistence(redis: AnyRedis, settings: ServiceSettings) -> Persistence:
    persistence = await read_persistence(redis)
    publish_persistence(persistence)
    if persistence.mode == "aof":
        logger.info("Redis persistence: AOF (appendfsync %s)", persistence.appendfsync)
    elif persistence.mode == "unknown":
        logger.warning("Redis persistence cannot be told: %s", persistence.detail)
    elif settings.environment == "production" and not settings.redis_allow_volatile:
        message = (
            "Redis runs without AOF (appendonly no): a Redis restart would lose every live "
            "conversation not yet archived. Turn AOF on (redis.conf: appendonly yes, appendfsync "
            "everysec; or CONFIG SET appendonly yes; on managed Redis, a plan with persistence), "
            "or set REDIS_ALLOW_VOLATILE=true to start anyway."
        )
        logger.error("%s", message)
        raise VolatileRedisError(message)
    else:
        logger.warning("Redis runs without AOF: a restart loses live conversations not archived")
    return persistence
