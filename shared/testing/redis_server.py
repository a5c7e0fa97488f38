"""One redis-server as a process of its own, for tests and the fault suite that must restart,
kill, configure or replicate Redis, which the shared Redis the suites use must never be.

    with RedisServerProcess(appendonly=True) as server:
        ...server.url...
        server.kill()          # SIGKILL, as a crash
        server.start()         # again, same port and directory (AOF replayed if on)

Started from Debian's ``redis-server`` with ``--save ""``; ``replica_of`` makes it a replica of
another such server. The object stops only the process it started, by pid.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from shared.testing.ports import free_port

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServerProcess:
    def __init__(
        self,
        *,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        replica_of: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="hirecj-redis-"))
        self._args = [
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if appendonly else "no", "--appendfsync", appendfsync,
            "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        if replica_of is not None:
            self._args += ["--replicaof", "127.0.0.1", str(replica_of)]
        self._args += list(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> RedisServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 10.0) -> RedisServerProcess:
        self._process = subprocess.Popen([REDIS_SERVER, *self._args], cwd=self.directory)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    # Answers once the AOF (if any) is loaded; before that, LOADING errors.
                    if client.ping():
                        return self
                except redis.RedisError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server on {self.port} did not start") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """End the process the way a crash does (SIGKILL) or a stop does (SIGTERM)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(sig)
            self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        shutil.rmtree(self.directory, ignore_errors=True)
