"""The fault suite's processes: everything real, on free loopback ports, stopped by pid.

One ``FaultStack`` per scenario: its own redis-server (AOF on or off), a private migrated
PostgreSQL database (``shared.testing.plugin.create_database``, dropped at the end) reached
through a TCP proxy that can be cut, two agents processes (``uvicorn app.main:app``) and one
archiver worker (``python -m app.workers.archiver``), each logging to its own file. Every
method that waits does so without blocking the event loop the chat clients run on, and the
proxy runs on a thread of its own, so PostgreSQL traffic never waits for either.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg2
import redis

from shared.postgres import libpq_url
from shared.testing.plugin import create_database, drop_database
from shared.testing.ports import free_port
from shared.testing.redis_server import RedisServerProcess
from shared.testing.tcp_proxy import ThreadedTcpProxy

REPO_DIR = Path(__file__).resolve().parents[1]
AGENTS_DIR = REPO_DIR / "agents"
AGENTS = 2


@dataclass(frozen=True)
class StackConfig:
    """What differs between scenarios: Redis persistence, the in-app archiver, settings."""

    appendonly: bool = True
    in_app_archiver: bool = True
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Service:
    """One long-lived process of the stack, restartable under the same name (and port)."""

    name: str
    command: list[str]
    log: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class FaultStack:
    def __init__(self, name: str, config: StackConfig) -> None:
        self.name = name
        self.config = config
        self.workdir = Path(tempfile.mkdtemp(prefix=f"hirecj-faults-{name}-"))
        self.secret = "faults-" + secrets.token_hex(32)
        self.database = f"hirecj_faults_{uuid.uuid4().hex[:10]}"
        self.database_url = ""
        self.redis = RedisServerProcess(appendonly=config.appendonly, appendfsync="everysec")
        self.proxy: ThreadedTcpProxy | None = None
        self.agents: list[Service] = []
        self.worker: Service | None = None

    # Start and stop -------------------------------------------------------------------------

    async def start(self, *, worker: bool = True) -> None:
        self.database_url = await asyncio.to_thread(create_database, self.database)
        target = urlsplit(self.database_url)
        self.proxy = ThreadedTcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
        await asyncio.to_thread(self.proxy.start)
        await asyncio.to_thread(self.redis.start)
        python = [sys.executable, "-m"]
        for index in range(AGENTS):
            port = free_port()
            command = [*python, "uvicorn", "app.main:app", "--host", "127.0.0.1",
                       "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
            self.agents.append(
                Service(f"agents-{index}", command, self._log(f"agents-{index}"), port)
            )
        self.worker = Service("worker", [*python, "app.workers.archiver"], self._log("worker"))
        await asyncio.gather(*(self.start_service(service) for service in self.agents))
        if worker:
            await self.start_service(self.worker)

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    @property
    def ports(self) -> list[int]:
        return [service.port for service in self.agents if service.port is not None]

    def environment(self) -> dict[str, str]:
        assert self.proxy is not None
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {
                "DATABASE_URL",
                "LLM_API_KEY",
                "IDENTITY_DATABASE_DIRECT_URL",
                "REDIS_CLUSTER",
                "REDIS_WAIT_REPLICAS",
            }  # fmt: skip
        }
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), env.get("PYTHONPATH")])),
                "ENVIRONMENT": "test",
                "IDENTITY_DATABASE_URL": self.proxy.url(self.database_url),
                "REDIS_URL": self.redis.url,
                "IDENTITY_TOKEN_SECRET": self.secret,
                "TOKEN_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "ARCHIVER_ENABLED": "true" if self.config.in_app_archiver else "false",
                # Every client comes from 127.0.0.1 and chats faster than a person types.
                "CHAT_MESSAGES_PER_MINUTE": "100000",
                "NEW_CONVERSATIONS_PER_MINUTE_PER_IP": "100000",
                "LOG_FORMAT": "text",
                "LOG_LEVEL": "INFO",
                **self.config.settings,
            }
        )
        return env

    async def start_service(self, service: Service) -> None:
        service.starts += 1
        with service.log.open("ab") as log:
            log.write(f"--- start {service.starts} at {time.time():.3f}\n".encode())
            log.flush()
            service.process = subprocess.Popen(
                service.command,
                cwd=AGENTS_DIR,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if service.port is not None:
            await self._wait_listening(service)

    async def _wait_listening(self, service: Service, timeout: float = 60) -> None:
        """Up once /health answers at all: 503 (PostgreSQL cut) still means it serves chat."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if not service.running:
                    raise RuntimeError(f"{service.name} exited; see {service.log}")
                try:
                    await client.get(f"http://127.0.0.1:{service.port}/health")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.2)
        raise RuntimeError(f"{service.name} did not answer within {timeout:.0f} s")

    async def kill_service(self, service: Service, sig: int = signal.SIGKILL) -> None:
        process = service.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)

    async def stop_services(self) -> None:
        """SIGTERM: the lifespan and the worker hand their archive claims back."""
        services = [*self.agents, *([self.worker] if self.worker else [])]
        await asyncio.gather(*(self.kill_service(s, signal.SIGTERM) for s in services))

    async def close(self, *, keep_logs: bool = False) -> None:
        await self.stop_services()
        await asyncio.to_thread(self.redis.stop)
        if self.proxy is not None:
            await asyncio.to_thread(self.proxy.stop)
        if self.database_url:
            await asyncio.to_thread(drop_database, self.database)
        if not keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # Faults -----------------------------------------------------------------------------------

    async def kill_redis(self) -> None:
        await asyncio.to_thread(self.redis.kill, signal.SIGKILL)

    async def start_redis(self) -> None:
        await asyncio.to_thread(self.redis.start)

    async def cut_database(self) -> None:
        assert self.proxy is not None
        await asyncio.to_thread(self.proxy.cut)

    async def restore_database(self) -> None:
        assert self.proxy is not None
        await asyncio.to_thread(self.proxy.restore)

    # Looking -----------------------------------------------------------------------------------

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, decode_responses=True)

    def postgres(self) -> Any:
        """A direct connection (not through the proxy), autocommit; close it after use."""
        connection = psycopg2.connect(libpq_url(self.database_url), connect_timeout=10)
        connection.autocommit = True
        return connection

    def register_users(self, users: dict[str, str]) -> None:
        """Create the users (id -> shop) the clients' tokens name, as the OAuth install would:
        only a conversation's owner may bring it back from the archive."""
        connection = self.postgres()
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO users (id, shop_domain) SELECT * FROM unnest(%s::text[], %s::text[])"
                    " ON CONFLICT DO NOTHING",
                    (list(users), list(users.values())),
                )
        finally:
            connection.close()

    def archived_messages(self) -> dict[str, list[dict[str, Any]]]:
        connection = self.postgres()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT id::text, messages FROM conversations")
                return {row[0]: list(row[1] or []) for row in cursor.fetchall()}
        finally:
            connection.close()

    async def archive_all(self, timeout: float = 120) -> tuple[int, dict[str, Any] | str]:
        """``python -m app.workers.archiver --all --json``: its exit code and summary."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.workers.archiver", "--all", "--json",
            cwd=AGENTS_DIR, env=self.environment(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, "timed out"
        code = process.returncode if process.returncode is not None else -1
        lines = out.decode().strip().splitlines()
        try:
            return code, dict(json.loads(lines[-1]))
        except (IndexError, ValueError):
            return code, (out + err).decode()[-500:]

    def tracebacks(self) -> dict[str, dict[str, int]]:
        """Per log file, how often each exception was logged with its traceback."""
        found: dict[str, dict[str, int]] = {}
        for path in sorted(self.workdir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()
            for number, line in enumerate(lines):
                if line.startswith("Traceback"):
                    end = next(
                        (i for i in range(number + 1, len(lines)) if re.match(r"^\S", lines[i])),
                        len(lines) - 1,
                    )
                    exception = re.sub(r"\d{4,5}", "N", lines[end][:160])  # ports vary
                    counts = found.setdefault(path.stem, {})
                    counts[exception] = counts.get(exception, 0) + 1
        return found
