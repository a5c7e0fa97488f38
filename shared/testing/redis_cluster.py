"""A real Redis Cluster as local processes, for tests that must see what production sees.

Why a real cluster and not one redis-server: the cluster client routes every command by hash
slot, refuses multi-key commands whose keys span slots (``CROSSSLOT``), fans some commands out to
every node and fails differently when one node is down. None of that happens against a single
node, so code that "works on Redis" can still break on a cluster; this module lets the suite
catch it.

The cluster is built by hand (``CLUSTER ADDSLOTSRANGE`` / ``SET-CONFIG-EPOCH`` / ``MEET``,
``REPLICATE`` for replicas) instead of ``redis-cli --cluster create``, which adds its own sleeps
while it waits for the nodes to agree. Start-up takes about 2 s whatever the size: a master
that has just started stays ``cluster_state:fail`` for 2 s (Redis's hard-coded
``CLUSTER_WRITABLE_DELAY``), so that is also the floor for ``restart_node`` of a master. Each node
lives in its own directory under one temporary directory (its ``nodes.conf`` survives a restart,
so a killed node can rejoin with the same id) and is started from Debian's ``redis-server``
with ``--save ""`` (no RDB snapshots) and a configurable ``appendonly``.

Usage::

    with RedisClusterProcess() as cluster:          # 3 masters, no replicas
        client = redis.cluster.RedisCluster.from_url(cluster.url)
        ...
        cluster.kill_node(cluster.master_ports[1])  # fault test: one master gone
        cluster.restart_node(cluster.master_ports[1])

The object owns every process it started and stops only those (SIGTERM by pid, SIGKILL after a
grace period), then removes its directory.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.testing.ports import free_cluster_ports

SLOTS = 16384
# Redis listens for the cluster bus on the client port + 10000, so both must be free.
DEFAULT_REDIS_SERVER = "/usr/bin/redis-server"


class RedisClusterError(RuntimeError):
    """The cluster could not be started, or did not reach ``cluster_state:ok`` in time."""


@dataclass
class _Node:
    port: int
    directory: Path
    is_master: bool
    master_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    node_id: str = ""
    slots: tuple[int, int] | None = None


class RedisClusterProcess:
    """A Redis Cluster of ``masters`` masters (each with ``replicas`` replicas) on 127.0.0.1.

    ``start()`` (or entering the context manager) returns only when every node reports
    ``cluster_state:ok`` and every replica's link to its master is up; ``stop()`` (or leaving the
    context) stops every process this object started and deletes its directory.

    ``node_timeout_ms`` is short (1 s by default, production uses 15 s) so that fault tests see a
    killed node marked failed, and a replica promoted, within a couple of seconds.
    """

    def __init__(
        self,
        *,
        masters: int = 3,
        replicas: int = 0,
        appendonly: bool = False,
        node_timeout_ms: int = 1000,
        require_full_coverage: bool = True,
        redis_server: str | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if masters < 1:
            raise ValueError("a cluster needs at least one master")
        if replicas < 0:
            raise ValueError("replicas must be >= 0")
        self.masters = masters
        self.replicas = replicas
        self.appendonly = appendonly
        self.node_timeout_ms = node_timeout_ms
        self.require_full_coverage = require_full_coverage
        self.redis_server = redis_server or shutil.which("redis-server") or DEFAULT_REDIS_SERVER
        self.host = host
        self.startup_timeout = startup_timeout
        self.extra_args = extra_args
        self.directory: Path | None = None
        self._nodes: dict[int, _Node] = {}

    # ----------------------------------------------------------------- addresses
    @property
    def ports(self) -> list[int]:
        """Every node's client port, masters first (in slot order), then replicas."""
        return self.master_ports + self.replica_ports

    @property
    def master_ports(self) -> list[int]:
        """Ports of the nodes that were created as masters (slot ranges in order)."""
        return [n.port for n in self._nodes.values() if n.is_master]

    @property
    def replica_ports(self) -> list[int]:
        return [n.port for n in self._nodes.values() if not n.is_master]

    @property
    def url(self) -> str:
        """``redis://HOST:PORT/0`` of the first master: enough for a cluster client to bootstrap."""
        return self.node_url(self.master_ports[0])

    @property
    def urls(self) -> list[str]:
        return [self.node_url(port) for port in self.ports]

    def node_url(self, port: int) -> str:
        return f"redis://{self.host}:{port}/0"

    def pid(self, port: int) -> int | None:
        """The pid of the node on ``port`` if it is running."""
        process = self._nodes[port].process
        return process.pid if process is not None and process.poll() is None else None

    def slot_range(self, port: int) -> tuple[int, int] | None:
        """The (first, last) slot a master was given at creation; None for a replica."""
        return self._nodes[port].slots

    def current_master_ports(self) -> list[int]:
        """The running nodes that are masters now (after a failover this differs from
        ``master_ports``, which records the roles at creation)."""
        masters = []
        for port in self.ports:
            if not self.pid(port):
                continue
            client = self.node_client(port)
            try:
                if client.info("replication").get("role") == "master":
                    masters.append(port)
            finally:
                client.close()
        return masters

    def node_client(self, port: int, **kwargs: object) -> redis.Redis:
        """A plain (non-cluster) client to one node, for CLUSTER/INFO/CONFIG on that node."""
        # No retries: redis-py 8 retries a refused connection with backoff for ~4 s by default,
        # which would turn every probe of a node that is not up yet into a 4 s stall.
        options: dict[str, object] = {
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "retry": Retry(NoBackoff(), 0),
        }
        options.update(kwargs)
        return redis.Redis(host=self.host, port=port, **options)  # type: ignore[arg-type]

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> RedisClusterProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> RedisClusterProcess:
        if self._nodes:
            raise RedisClusterError("this cluster is already started")
        if not Path(self.redis_server).exists():
            raise RedisClusterError(
                f"{self.redis_server} not found; install Debian's redis-server package"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="hirecj-redis-cluster-"))
        try:
            self._create()
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self) -> None:
        assert self.directory is not None
        total = self.masters * (1 + self.replicas)
        ports = free_cluster_ports(total, self.host)
        if ports is None:
            raise RedisClusterError(f"could not find {total} free port pairs for a Redis Cluster")
        master_ports = ports[: self.masters]
        for index, port in enumerate(master_ports):
            first = index * SLOTS // self.masters
            last = (index + 1) * SLOTS // self.masters - 1
            self._nodes[port] = _Node(
                port, self.directory / str(port), is_master=True, slots=(first, last)
            )
        for index, port in enumerate(ports[self.masters :]):
            master = master_ports[index % self.masters]
            self._nodes[port] = _Node(
                port, self.directory / str(port), is_master=False, master_port=master
            )
        for node in self._nodes.values():
            node.directory.mkdir()
            self._spawn(node)
        deadline = time.monotonic() + self.startup_timeout
        for node in self._nodes.values():
            self._wait_for_ping(node, deadline)
        clients = {port: self.node_client(port) for port in self._nodes}
        try:
            for epoch, node in enumerate(self._nodes.values(), start=1):
                client = clients[node.port]
                node.node_id = _text(client.execute_command("CLUSTER", "MYID"))
                # A distinct config epoch per node before they meet, as redis-cli does: no
                # epoch-collision rounds, so the cluster agrees at once.
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
                if node.slots is not None:
                    client.execute_command("CLUSTER", "ADDSLOTSRANGE", *node.slots)
            first_port = master_ports[0]
            for port in ports[1:]:
                clients[port].execute_command("CLUSTER", "MEET", self.host, first_port)
            for node in self._nodes.values():
                if node.master_port is None:
                    continue
                master_id = self._nodes[node.master_port].node_id
                self._until(
                    deadline,
                    functools.partial(_knows_node, clients[node.port], master_id),
                    f"replica {node.port} never learned of its master",
                )
                clients[node.port].execute_command("CLUSTER", "REPLICATE", master_id)
        finally:
            for client in clients.values():
                client.close()
        self.wait_until_ok(timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self, node: _Node) -> None:
        args = [
            self.redis_server,
            "--port", str(node.port),
            "--bind", self.host,
            "--dir", str(node.directory),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--cluster-require-full-coverage", "yes" if self.require_full_coverage else "no",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            # Replicas sync at once (the default waits 5 s for more replicas to share a transfer).
            "--repl-diskless-sync-delay", "0",
            "--daemonize", "no",
            "--logfile", str(node.directory / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        node.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _wait_for_ping(self, node: _Node, deadline: float) -> None:
        while True:
            if node.process is not None and node.process.poll() is not None:
                raise RedisClusterError(
                    f"redis-server on {node.port} exited with {node.process.returncode}: "
                    f"{self._log_tail(node)}"
                )
            client = self.node_client(node.port, socket_timeout=1, socket_connect_timeout=0.5)
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            finally:
                client.close()
            if time.monotonic() > deadline:
                raise RedisClusterError(f"redis-server on {node.port} did not answer PING")
            time.sleep(0.02)

    def _until(self, deadline: float, check: Callable[[], object], message: str) -> None:
        while True:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RedisClusterError(message)
            time.sleep(0.02)

    def _log_tail(self, node: _Node, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(
                (node.directory / "redis.log").read_text(errors="replace").splitlines()[-lines:]
            )
        return "(no log)"

    def wait_until_ok(self, timeout: float = 20.0, ports: list[int] | None = None) -> None:
        """Block until every running node (or the given ones) is settled: ``cluster_state:ok``,
        knows every node, sees every running node as connected and not failed, and, if it is a
        replica now (roles change after a failover), has its replication link up.

        Checking only ``cluster_state`` is not enough after a restart: a demoted master turns
        replica and reports ``ok`` within milliseconds, before the others clear its ``fail``
        flag and before it has synced.
        """
        deadline = time.monotonic() + timeout
        running = [p for p in self.ports if self.pid(p)]
        for port in ports if ports is not None else running:
            client = self.node_client(port)
            try:
                self._until(
                    deadline,
                    functools.partial(_node_settled, client, len(self._nodes), running),
                    f"node {port} did not settle ({self._log_tail(self._nodes[port])})",
                )
            finally:
                client.close()

    def kill_node(self, port: int, sig: int = signal.SIGKILL) -> None:
        """Stop one node (SIGKILL by default: a crash, not a clean shutdown) and reap it.

        Its directory (and ``nodes.conf``) is kept, so ``restart_node`` rejoins with the same id.
        """
        node = self._nodes[port]
        if node.process is None:
            return
        _terminate(node.process, sig)
        node.process = None

    def restart_node(self, port: int, *, wait: bool = True, timeout: float = 20.0) -> None:
        """Start a killed node again on the same port and directory; by default wait until the
        whole cluster is ok again."""
        node = self._nodes[port]
        if node.process is not None and node.process.poll() is None:
            raise RedisClusterError(f"node {port} is still running")
        self._spawn(node)
        deadline = time.monotonic() + timeout
        self._wait_for_ping(node, deadline)
        if wait:
            self.wait_until_ok(timeout=max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Stop every node this object started (SIGTERM, then SIGKILL after 5 s) and delete the
        temporary directory. Safe to call twice."""
        for node in self._nodes.values():
            if node.process is not None:
                _terminate(node.process, signal.SIGTERM)
                node.process = None
        self._nodes.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _knows_node(client: redis.Redis, node_id: str) -> bool:
    return node_id in _text(client.execute_command("CLUSTER", "NODES"))


def _node_settled(client: redis.Redis, node_count: int, running: list[int]) -> bool:
    info = _text(client.execute_command("CLUSTER", "INFO"))
    fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
    if fields.get("cluster_state") != "ok" or fields.get("cluster_known_nodes") != str(node_count):
        return False
    for line in _text(client.execute_command("CLUSTER", "NODES")).splitlines():
        parts = line.split()
        address, flags, link = parts[1], parts[2].split(","), parts[7]
        port = int(address.split("@", 1)[0].rsplit(":", 1)[1])
        if port in running and ("fail" in flags or "fail?" in flags or link != "connected"):
            return False
    replication = client.info("replication")
    return replication.get("role") == "master" or replication.get("master_link_status") == "up"


def _terminate(process: subprocess.Popen[bytes], sig: int, grace: float = 5.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
