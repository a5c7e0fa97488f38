"""The Redis Cluster harness starts three real masters that a cluster client can use, and a
killed node can be brought back; the suite's cluster tests build on it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis.asyncio.cluster as async_cluster
import redis.cluster

from shared.testing.redis_cluster import RedisClusterProcess

# Keys whose slots fall on three different masters: 15495 (third), 3300 (first), 7365 (second).
KEYS = ("a", "b", "c")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterProcess]:
    with RedisClusterProcess(masters=3) as started:
        yield started


def test_three_masters_cover_every_slot(cluster: RedisClusterProcess) -> None:
    assert len(cluster.master_ports) == 3
    assert cluster.url == f"redis://127.0.0.1:{cluster.master_ports[0]}/0"
    for port in cluster.ports:
        node = cluster.node_client(port)
        try:
            assert node.cluster("info")["cluster_state"] == "ok"
        finally:
            node.close()


async def test_round_trip_across_slots(cluster: RedisClusterProcess) -> None:
    client = async_cluster.RedisCluster.from_url(cluster.url, decode_responses=True)
    try:
        await client.initialize()  # loads the slot map; get_node_from_key needs it
        nodes = [client.get_node_from_key(key) for key in KEYS]
        owners = {node.port for node in nodes if node is not None}
        assert len(owners) == 3, "the keys must live on three different masters"
        for key in KEYS:
            await client.set(key, f"value-{key}")
        assert [await client.get(key) for key in KEYS] == [f"value-{key}" for key in KEYS]
    finally:
        await client.aclose()


def test_killed_node_comes_back(cluster: RedisClusterProcess) -> None:
    port = cluster.master_ports[1]
    first, last = cluster.slot_range(port) or (0, -1)
    client = redis.cluster.RedisCluster.from_url(cluster.url, decode_responses=True)
    try:
        assert first <= client.keyslot("c") <= last
        client.set("c", "before")
        cluster.kill_node(port)
        assert cluster.pid(port) is None
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        cluster.restart_node(port)
        # No AOF and no snapshots: a restarted node comes back empty but owns its slots again.
        assert client.get("c") is None
        client.set("c", "after")
        assert client.get("c") == "after"
    finally:
        client.close()


def test_one_replica_per_master() -> None:
    with RedisClusterProcess(masters=3, replicas=1) as cluster:
        assert len(cluster.replica_ports) == 3
        masters_with_replica = set()
        for port in cluster.replica_ports:
            node = cluster.node_client(port, decode_responses=True)
            try:
                replication = node.info("replication")
                assert replication["role"] == "slave"
                assert replication["master_link_status"] == "up"
                masters_with_replica.add(int(replication["master_port"]))
            finally:
                node.close()
        assert masters_with_replica == set(cluster.master_ports)
