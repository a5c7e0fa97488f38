"""PgBouncer in transaction pool mode as a local process, in front of the test PostgreSQL.

Why: production reaches PostgreSQL through a transaction-mode pooler (Heroku's PgBouncer), where
consecutive transactions of one client connection may run on different server connections. That
breaks things a direct connection hides: named prepared statements (asyncpg's statement cache),
session ``SET``s and session advisory locks, startup parameters such as ``statement_timeout``.
Tests that go through this process see those failures before production does.

The configuration mirrors a standard set-up on purpose: ``pool_mode = transaction`` and
``ignore_startup_parameters = extra_float_digits`` (what Heroku's PgBouncer ignores, nothing
more), so code must not rely on other startup parameters being accepted. ``[databases] * = ...``
passes any database name through to the server, so per-test databases need no configuration.

Debian's ``pgbouncer`` binary refuses to run as root ("PgBouncer should not run as root"); when
we are root it is started with ``-u postgres`` (or ``nobody``), and its temporary directory is
handed to that user so it can read its files. If the binary is missing and we are root with
apt-get, it is installed from Debian's packages, as ``scripts/dev_services.sh`` does for
PostgreSQL. (The package's own service is not needed; in a container without systemd it does
not start.)

Usage::

    with PgBouncerProcess() as bouncer:
        pool = await asyncpg.create_pool(bouncer.url_for("hirecj_test_x"), statement_cache_size=0)

``url_for("pgbouncer")`` reaches PgBouncer's admin console (``SHOW POOLS`` etc.), since the
configured user is an admin user. The console speaks only the simple query protocol: use
psycopg2 (autocommit) or psql there, not asyncpg's ``fetch``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

from shared.testing.ports import free_port

PGBOUNCER_CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


class PgBouncerError(RuntimeError):
    """PgBouncer is missing and cannot be installed, or did not start."""


def find_pgbouncer(*, install: bool = True) -> str:
    """The pgbouncer binary's path; installs Debian's package first if allowed and possible."""
    found = shutil.which("pgbouncer") or next(
        (path for path in PGBOUNCER_CANDIDATES if os.access(path, os.X_OK)), None
    )
    if found:
        return found
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "pgbouncer"],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise PgBouncerError(f"{' '.join(command)} failed: {result.stderr[-500:]}")
        return find_pgbouncer(install=False)
    raise PgBouncerError(
        "pgbouncer is not installed and cannot be installed here (needs apt-get as root); "
        "install Debian's pgbouncer package"
    )


def _quote_userlist(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncerProcess:
    """A PgBouncer listening on 127.0.0.1:``port`` (free by default) in front of
    ``server_host:server_port``.

    Clients authenticate with ``auth_type`` (``scram-sha-256`` by default, checked against the
    plain password in the generated ``auth_file``; ``trust`` skips the check); PgBouncer logs in
    to the server as the same user with that password. ``settings`` adds or overrides
    ``[pgbouncer]`` keys (e.g. ``{"query_wait_timeout": "2"}`` for a pool-exhaustion test);
    ``databases`` replaces the ``[databases]`` section (default: ``*`` to the server, so every
    database name passes through).
    """

    def __init__(
        self,
        *,
        server_host: str = "127.0.0.1",
        server_port: int = 5435,
        user: str = "hirecj",
        password: str = "hirecj_dev_password",
        port: int | None = None,
        pool_mode: str = "transaction",
        auth_type: str = "scram-sha-256",
        max_client_conn: int = 500,
        default_pool_size: int = 20,
        settings: Mapping[str, str | int] | None = None,
        databases: Mapping[str, str] | None = None,
        run_as: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.server_host = server_host
        self.server_port = server_port
        self.user = user
        self.password = password
        self.host = "127.0.0.1"
        self.port = port or 0
        self.pool_mode = pool_mode
        self.auth_type = auth_type
        self.max_client_conn = max_client_conn
        self.default_pool_size = default_pool_size
        self.settings = dict(settings or {})
        self.databases = (
            dict(databases)
            if databases is not None
            else {"*": f"host={server_host} port={server_port}"}
        )
        self.run_as = run_as
        self.startup_timeout = startup_timeout
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # ----------------------------------------------------------------- addresses
    def url_for(
        self, database: str, *, user: str | None = None, password: str | None = None
    ) -> str:
        """``postgresql://user:password@127.0.0.1:PORT/database`` through this PgBouncer."""
        user = user or self.user
        password = self.password if password is None else password
        credentials = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(database, safe='')}"

    @property
    def pid(self) -> int | None:
        return (
            self.process.pid if self.process is not None and self.process.poll() is None else None
        )

    @property
    def log_path(self) -> Path:
        assert self.directory is not None, "not started"
        return self.directory / "pgbouncer.log"

    def log_text(self) -> str:
        """PgBouncer's log so far (connection, pooler-error and shutdown lines)."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> PgBouncerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def config_text(self) -> str:
        settings: dict[str, str | int] = {
            "listen_addr": self.host,
            "listen_port": self.port,
            # No unix socket: two instances (or a system PgBouncer) would fight over
            # /tmp/.s.PGSQL.<port>, and tests use TCP like production does.
            "unix_socket_dir": "",
            "auth_type": self.auth_type,
            "auth_file": str(self._path("userlist.txt")),
            "admin_users": self.user,
            "stats_users": self.user,
            "pool_mode": self.pool_mode,
            "max_client_conn": self.max_client_conn,
            "default_pool_size": self.default_pool_size,
            "ignore_startup_parameters": "extra_float_digits",
            "logfile": str(self.log_path),
            "pidfile": str(self._path("pgbouncer.pid")),
        }
        settings.update(self.settings)
        lines = [
            "[databases]",
            *(f"{name} = {connstr}" for name, connstr in self.databases.items()),
            "",
            "[pgbouncer]",
            *(f"{key} = {value}" for key, value in settings.items()),
        ]
        return "\n".join(lines) + "\n"

    def _path(self, name: str) -> Path:
        assert self.directory is not None
        return self.directory / name

    def _runtime_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        if self.run_as:
            return self.run_as
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                return name
        raise PgBouncerError("running as root and neither user postgres nor nobody exists")

    def start(self) -> PgBouncerProcess:
        if self.process is not None:
            raise PgBouncerError("already started")
        binary = find_pgbouncer()
        if not self.port:
            self.port = free_port(self.host)
        self.directory = Path(tempfile.mkdtemp(prefix="hirecj-pgbouncer-"))
        try:
            self._launch(binary)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, binary: str) -> None:
        assert self.directory is not None
        self._path("userlist.txt").write_text(
            f"{_quote_userlist(self.user)} {_quote_userlist(self.password)}\n"
        )
        config = self._path("pgbouncer.ini")
        config.write_text(self.config_text())
        command = [binary]
        runtime_user = self._runtime_user()
        if runtime_user is not None:
            # PgBouncer drops to this user before it opens its log and pid files.
            entry = pwd.getpwnam(runtime_user)
            for path in (self.directory, *self.directory.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command += ["-u", runtime_user]
        for path in self.directory.iterdir():
            path.chmod(0o600)
        command.append(str(config))
        output = self._path("stderr.log").open("wb")
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        finally:
            output.close()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise PgBouncerError(
                    f"pgbouncer exited with {self.process.returncode}: "
                    f"{(self.log_text() or self._path('stderr.log').read_text())[-800:]}"
                )
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex((self.host, self.port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise PgBouncerError(f"pgbouncer did not listen on {self.port}: {self.log_text()}")
            time.sleep(0.02)

    def reload(self) -> None:
        """Re-read ``pgbouncer.ini`` (after editing ``settings`` and calling ``write_config``)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGHUP)

    def write_config(self) -> None:
        self._path("pgbouncer.ini").write_text(self.config_text())

    def stop(self, *, grace: float = 5.0) -> None:
        """SIGTERM (PgBouncer's immediate shutdown), SIGKILL after ``grace`` seconds; then
        delete the temporary directory. Safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=grace)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


@contextlib.contextmanager
def pgbouncer(**kwargs: object) -> Iterator[PgBouncerProcess]:
    """``with pgbouncer(default_pool_size=5) as bouncer:`` – a function form."""
    with PgBouncerProcess(**kwargs) as bouncer:  # type: ignore[arg-type]
        yield bouncer
