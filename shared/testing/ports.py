"""Free loopback ports for the processes the tests and benchmarks start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# A Redis Cluster node also listens on its port + 10000 (the cluster bus).
BUS_PORT_OFFSET = 10000


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (bound to port 0, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_cluster_ports(count: int, host: str = "127.0.0.1") -> list[int] | None:
    """``count`` ports whose cluster-bus twins (port + 10000) are free too, or None.

    The OS's "port 0" trick cannot be used: port + 10000 could exceed 65535 or be in use. Ports
    are drawn at random below the kernel's ephemeral range (so that neither a node nor its bus
    port can be taken by some outgoing connection's source port while a node is down for a
    fault test) and checked by binding; a small race with other processes remains, as for any
    free-port helper.
    """
    low, _ = _ephemeral_range()
    top = low - BUS_PORT_OFFSET - 1 if low - BUS_PORT_OFFSET > 12000 else 55000 - BUS_PORT_OFFSET
    chosen: list[int] = []
    for port in random.sample(range(10000, top), min(3000, top - 10000)):
        if any(abs(port - other) == BUS_PORT_OFFSET for other in chosen):
            continue
        if _port_is_free(port, host) and _port_is_free(port + BUS_PORT_OFFSET, host):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    return None
