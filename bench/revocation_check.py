"""What refusing revoked tokens costs a history request, three ways (see
agents/app/services/token_revocations.py for the choice).

    .venv/bin/python bench/revocation_check.py [--requests 20000] [--users 10000]

On a private migrated database and a private Redis db, it times ``app.api.deps.authenticate``
(the history routes' token check, cached PyJWT result included) with:

- ``none``: no revocation check at all (the code before migration 010);
- ``feed``: the shipped ``TokenRevocations`` (a dict look-up; one small query every 2 s);
- ``postgres``: one ``SELECT tokens_valid_after`` per request through the history pool;
- ``redis``: one ``GET`` per request of a key auth would write beside the PostgreSQL update.

Requests cycle through ``--users`` users, as the history benchmark's clients do. The last line is
a JSON object of microseconds per request, and the extra cost of each check over ``none``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "agents")]

from shared.testing import plugin  # noqa: E402


async def _run(requests: int, users: int, database_url: str, redis_url: str) -> dict[str, float]:
    os.environ.update({"IDENTITY_DATABASE_URL": database_url, "REDIS_URL": redis_url})
    from fastapi.security import HTTPAuthorizationCredentials

    from app.api import deps
    from app.config import get_settings
    from app.services.identity_db import close_pool, connect, create_pool
    from app.services.token_revocations import TokenRevocations
    from shared.redis_client import create_async_redis
    from shared.settings import token_secrets
    from shared.tokens import issue_token

    settings = get_settings()
    pool = await create_pool(settings)
    redis = create_async_redis(redis_url)
    secret = token_secrets(settings)[0]
    ids = [f"usr_{uuid.uuid4().hex[:8]}" for _ in range(users)]
    async with connect(pool) as connection:
        await connection.executemany(
            "INSERT INTO users (id, shop_domain, tokens_valid_after) VALUES ($1, $2, "
            "CASE WHEN $3 THEN now() - interval '1 hour' END)",
            [(user, f"{user}.myshopify.com", n % 10 == 0) for n, user in enumerate(ids)],
        )
    credentials = [
        HTTPAuthorizationCredentials(
            scheme="Bearer",
            credentials=issue_token(
                user_id=u, shop="s.myshopify.com", secret=secret, ttl_seconds=3600
            ),
        )
        for u in ids
    ]

    class NoCheck:
        async def is_revoked(self, claims: object) -> bool:
            return False

    class PostgresPerRequest:
        async def is_revoked(self, claims: object) -> bool:
            async with connect(pool) as connection:
                valid_after = await connection.fetchval(
                    "SELECT extract(epoch FROM tokens_valid_after)::float8 FROM users WHERE id = $1",
                    claims.user_id,  # type: ignore[attr-defined]
                )
            return valid_after is not None and claims.issued_at < valid_after  # type: ignore[attr-defined]

    class RedisPerRequest:
        async def is_revoked(self, claims: object) -> bool:
            raw = await redis.get(f"bench:tokens_valid_after:{claims.user_id}")  # type: ignore[attr-defined]
            return raw is not None and claims.issued_at < float(raw)  # type: ignore[attr-defined]

    checks = {
        "none": NoCheck(),
        "feed": TokenRevocations(pool=pool, token_ttl_seconds=settings.identity_token_ttl_seconds),
        "postgres": PostgresPerRequest(),
        "redis": RedisPerRequest(),
    }
    results: dict[str, float] = {}
    try:
        for name, check in checks.items():
            for credential in credentials[:1000]:  # warm the verified-token cache and the pool
                await deps.authenticate(credential, check)  # type: ignore[arg-type]
            started = time.perf_counter()
            for n in range(requests):
                await deps.authenticate(credentials[n % users], check)  # type: ignore[arg-type]
            results[name] = round((time.perf_counter() - started) / requests * 1e6, 1)
    finally:
        await redis.flushdb()
        await redis.aclose()
        await close_pool(pool)
    for name in ("feed", "postgres", "redis"):
        results[f"{name}_extra_us"] = round(results[name] - results["none"], 1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    name = f"hirecj_bench_{uuid.uuid4().hex[:10]}"
    database_url = plugin.create_database(name)
    redis_db, claim = plugin._claim_redis_db()
    try:
        results = asyncio.run(
            _run(args.requests, args.users, database_url, f"{plugin.REDIS_BASE_URL}/{redis_db}")
        )
    finally:
        plugin._release_redis_db(redis_db, claim)
        plugin.drop_database(name)
    for key, value in results.items():
        print(f"{key:>18}: {value} us per request")
    print(json.dumps({"requests": args.requests, "users": args.users, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
