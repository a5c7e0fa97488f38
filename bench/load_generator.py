"""The benchmarks' HTTP load generator and CPU accounting.

Load comes from a separate process speaking raw HTTP/1.1 over asyncio (uvloop when installed),
so the client costs little of the CPU the server needs; each run also reports the CPU every
request cost the server (process and its workers), PostgreSQL (all of its processes on this
machine) and the load generator, which on a 2-core machine compete for the same time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
import time

import psutil

# -- CPU accounting ---------------------------------------------------------------------------
# Where each request's CPU goes (server process tree, every PostgreSQL process, the load
# generator) explains a rate: on 2 cores the three compete for the same time.


def _cpu_by_pid(processes: list[psutil.Process]) -> dict[int, float]:
    """Each live process's CPU seconds so far (user + system)."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue  # exited meanwhile
        seconds[process.pid] = times.user + times.system
    return seconds


def _cpu_since(before: dict[int, float], processes: list[psutil.Process]) -> float:
    """CPU seconds ``processes`` spent since ``before``; a process started since counts whole (a
    backend the pool opened during the run), one that exited is lost (nothing to read)."""
    return sum(now - before.get(pid, 0.0) for pid, now in _cpu_by_pid(processes).items())


def _server_tree(root: int) -> list[psutil.Process]:
    server = psutil.Process(root)
    return [server, *server.children()]


def _postgres_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            found.append(process)
    return found


# -- load -------------------------------------------------------------------------------------


async def _client(
    port: int,
    requests: list[bytes],
    stop_at: float,
    warm_until: float,
    latencies: list[float],
    errors: list[int],
    issued: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            writer.write(rng.choice(requests))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            issued[0] += 1
            if now >= warm_until:
                latencies.append(time.perf_counter() - now)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


def _load_process(
    port: int,
    requests: list[bytes],
    concurrency: int,
    duration: float,
    warmup: float,
    results: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    latencies: list[float] = []
    errors: list[int] = []
    issued = [0]  # warm-up included: CPU is counted over the whole run

    async def run() -> None:
        start = time.perf_counter()
        deadline, warm_until = start + warmup + duration, start + warmup
        await asyncio.gather(
            *(
                _client(port, requests, deadline, warm_until, latencies, errors, issued)
                for _ in range(concurrency)
            )
        )

    asyncio.run(run())
    results.put((latencies, errors, issued[0]))


def measure(
    name: str,
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    server_pid: int,
) -> dict[str, float]:
    """Drive ``requests`` (raw HTTP/1.1, chosen at random) at ``port`` from ``concurrency``
    keep-alive connections in a separate process; print and return rate and latencies."""
    server = _server_tree(server_pid)
    server_before, postgres_before = _cpu_by_pid(server), _cpu_by_pid(_postgres_processes())
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    worker = multiprocessing.Process(
        target=_load_process,
        args=(port, requests, concurrency, duration, warmup, queue),
    )
    worker.start()
    latencies, errors, issued = queue.get()
    worker.join()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = _cpu_since(server_before, server)
    postgres_cpu = _cpu_since(postgres_before, _postgres_processes())
    client_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    latencies.sort()
    count = len(latencies)
    figures = {
        "rps": count / duration,
        "p50_ms": latencies[count // 2] * 1000 if count else 0.0,
        "p99_ms": latencies[min(count - 1, int(count * 0.99))] * 1000 if count else 0.0,
        "errors": float(len(errors)),
    }
    per_request = 1e6 / issued if issued else 0.0
    print(
        f"{name:8s} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
        f"p99 {figures['p99_ms']:6.1f} ms  ({count} requests, {len(errors)} non-200)  "
        f"CPU per request: server {server_cpu * per_request:.0f} us, PostgreSQL "
        f"{postgres_cpu * per_request:.0f} us, load generator {client_cpu * per_request:.0f} us",
        flush=True,
    )
    return figures


def get_request(path: str, token: str | None = None) -> bytes:
    """A raw HTTP/1.1 GET, with a bearer token when given."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()
