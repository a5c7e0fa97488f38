"""The fault suite's scenarios, each on a fresh stack (its own Redis and database).

Every scenario chats under load, injects its fault, lets the load run on, stops it, stops the
processes (SIGTERM, so they hand their archive claims back), runs ``python -m
app.workers.archiver --all`` and counts what PostgreSQL holds (``fault_tally``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fault_load import ChatLoad, LoadPlan
from fault_stack import FaultStack, StackConfig
from fault_tally import Rules, tally, whole_conversations


@dataclass(frozen=True)
class Options:
    short: bool = False
    clients: int = 80
    duration: float = 40.0
    keep_logs: bool = False

    def pick(self, full: float, short: float) -> float:
        return short if self.short else full


Outcome = tuple[ChatLoad, Rules, dict[str, Any]]
Body = Callable[[FaultStack, Options], Awaitable[Outcome]]


@dataclass(frozen=True)
class Scenario:
    title: str
    body: Body
    config: Callable[[Options], StackConfig]
    worker_at_start: bool = True
    weight: float = 1.0  # how long it runs, relative to the others (to share out --lanes)


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    async def until(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.started + seconds - time.monotonic()))

    def now(self) -> float:
        return round(time.monotonic() - self.started, 1)


def archive_settings(*, idle: int = 2, lease: int = 10, **more: int) -> dict[str, str]:
    """Archive often (so faults meet archived and unarchived conversations alike), short leases
    (so the claims of a killed process come back within the run)."""
    values = {"ARCHIVE_IDLE_SECONDS": idle, "ARCHIVE_LEASE_SECONDS": lease, **more}
    return {key.upper(): str(value) for key, value in values.items()}


def start_load(stack: FaultStack, options: Options, **plan: Any) -> ChatLoad:
    drain = options.pick(30.0, 15.0)
    load = ChatLoad(
        clients=plan.pop("clients", options.clients),
        ports=stack.ports,
        secret=stack.secret,
        plan=LoadPlan(drain_seconds=drain, **plan),
    )
    stack.register_users({client.user_id: client.shop for client in load.clients})
    load.start()
    return load


def add_clients(stack: FaultStack, load: ChatLoad, count: int) -> None:
    added = load.add(count)
    stack.register_users({client.user_id: client.shop for client in added})


# 1. agents SIGKILL ------------------------------------------------------------------------------


async def agents_kill(stack: FaultStack, options: Options) -> Outcome:
    clock, duration = Clock(), options.duration
    load = start_load(stack, options)
    await clock.until(0.3 * duration)
    await stack.kill_service(stack.agents[0])
    killed_at = clock.now()
    await clock.until(0.6 * duration)
    await stack.start_service(stack.agents[0])
    restarted_at = clock.now()
    await clock.until(duration)
    await load.stop()
    return load, Rules(), {"killed_at_s": killed_at, "restarted_at_s": restarted_at}


# 2. PostgreSQL cut ------------------------------------------------------------------------------


async def postgres_cut(stack: FaultStack, options: Options) -> Outcome:
    clock, outage = Clock(), options.pick(30.0, 5.0)
    begin = max(0.25 * options.duration, 2.0)
    load = start_load(stack, options)
    await clock.until(begin)
    await stack.cut_database()
    await clock.until(begin + outage)
    await stack.restore_database()
    await clock.until(max(options.duration, begin + outage + max(0.25 * options.duration, 3.0)))
    await load.stop()
    return load, Rules(), {"outage_s": outage, "cut_at_s": begin}


# 3 and 4. Redis SIGKILL, then restart ---------------------------------------------------------------


async def _redis_kill(stack: FaultStack, options: Options) -> tuple[ChatLoad, float, float]:
    """Redis dies mid-load. A few clients start a second before, so some conversations have
    never been archived when it does (the archiver copies one ARCHIVE_IDLE_SECONDS after its
    first write): without AOF the server no longer knows those at all."""
    clock, down = Clock(), options.pick(3.0, 1.0)
    load = start_load(stack, options)
    await clock.until(0.5 * options.duration - 1.0)
    add_clients(stack, load, max(2, options.clients // 8))
    await clock.until(0.5 * options.duration)
    killed_at = time.time()
    await stack.kill_redis()
    await asyncio.sleep(down)
    await stack.start_redis()
    await clock.until(options.duration)
    await load.stop()
    return load, killed_at, down


async def redis_kill_aof(stack: FaultStack, options: Options) -> Outcome:
    load, killed_at, down = await _redis_kill(stack, options)
    return load, Rules(redis_killed_at=killed_at), {"redis_down_s": down, "aof": "everysec"}


async def redis_kill_no_aof(stack: FaultStack, options: Options) -> Outcome:
    load, _, down = await _redis_kill(stack, options)
    return load, Rules(volatile_redis=True), {"redis_down_s": down, "aof": "off"}


# 5. worker SIGKILL mid-batch ----------------------------------------------------------------------

_BLOCKED_ARCHIVER = """
    SELECT count(*) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'hirecj-archiver'
       AND wait_event_type = 'Lock'
"""


async def _worker_blocked(stack: FaultStack, timeout: float) -> bool:
    """Whether the worker is inside a batch write (waiting on the table lock we hold)."""
    connection = stack.postgres()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(_BLOCKED_ARCHIVER)
                if cursor.fetchone()[0]:
                    return True
            await asyncio.sleep(0.1)
        return False
    finally:
        connection.close()


async def worker_kill(stack: FaultStack, options: Options) -> Outcome:
    """The worker's batch write is held by a table lock (a slow database), so the SIGKILL is
    certain to land between its claim and its ack."""
    clock, duration = Clock(), options.duration
    load = start_load(stack, options)
    await clock.until(0.3 * duration)
    lock = stack.postgres()
    lock.autocommit = False
    with lock.cursor() as cursor:
        cursor.execute("LOCK TABLE conversations IN SHARE MODE")
    try:
        mid_batch = await _worker_blocked(stack, timeout=options.pick(15.0, 8.0))
        leased = sum(stack.redis_client().zcard(f"archive:{{{n}}}:leased") for n in range(16))
        assert stack.worker is not None
        await stack.kill_service(stack.worker)
        killed_at = clock.now()
        await asyncio.sleep(0.5)
    finally:
        lock.rollback()
        lock.close()
    await clock.until(0.55 * duration)
    await stack.start_service(stack.worker)
    await clock.until(duration)
    await load.stop()
    extra: dict[str, Any] = {
        "killed_mid_batch": mid_batch,
        "leased_at_kill": leased,
        "killed_at_s": killed_at,
    }
    if not mid_batch:
        extra["notes"] = ["the worker was not seen inside a batch write when it was killed"]
    return load, Rules(), extra


# 6. worker started during a PostgreSQL outage longer than the TTL ---------------------------------


def _conversation_keys(stack: FaultStack) -> list[str]:
    return list(stack.redis_client().scan_iter(match="conv:{*}:*", count=1000))


async def worker_starts_in_outage(stack: FaultStack, options: Options) -> Outcome:
    """Conversations go idle, PostgreSQL goes away, then the worker (the only archiver here)
    starts; the outage outlasts what is left of their TTL. Short run: the TTL may not be under
    60 s, so the keys are given 10 s left (EXPIRE) just before the worker starts, and the
    outage lasts 12 s."""
    conversations = int(options.pick(20, 6))
    outage = options.pick(75.0, 12.0)
    load = start_load(stack, options, clients=conversations, messages=3, think=(0.1, 0.3))
    await load.finish()
    last_write = time.time()
    await stack.cut_database()
    cut_at = time.monotonic()
    if options.short:
        client = stack.redis_client()
        for key in _conversation_keys(stack):
            client.expire(key, 10)
    ttl_left = min(stack.redis_client().ttl(key) for key in _conversation_keys(stack))
    assert stack.worker is not None
    await stack.start_service(stack.worker)
    await asyncio.sleep(max(0.0, cut_at + outage - time.monotonic()))
    alive = stack.worker.running
    sessions = [key for key in _conversation_keys(stack) if key.endswith(":session")]
    await stack.restore_database()
    restored_at = time.monotonic()
    whole = 0
    while time.monotonic() < restored_at + options.pick(60.0, 25.0):
        whole = whole_conversations(load, await asyncio.to_thread(stack.archived_messages))
        if whole == conversations:
            break
        await asyncio.sleep(0.5)
    extra: dict[str, Any] = {
        "outage_s": outage,
        "ttl_left_at_cut_s": ttl_left,
        "idle_before_restore_s": round(time.time() - last_write, 1),
        "live_at_restore": len(sessions),
        "archived_whole_by_worker": whole,
        "archived_within_s": round(time.monotonic() - restored_at, 1),
        "worker_alive_through_outage": alive,
        "failures": [],
    }
    if not alive:
        extra["failures"].append("the worker exited during the outage")
    if whole < conversations:
        extra["failures"].append(f"the worker archived {whole} of {conversations} whole")
    return load, Rules(), extra


def _config(*, appendonly: bool = True, in_app: bool = True, **settings: int) -> Any:
    return lambda options: StackConfig(
        appendonly=appendonly, in_app_archiver=in_app, settings=archive_settings(**settings)
    )


def _outage_settings(options: Options) -> StackConfig:
    # A write is due min(idle, TTL - before) later: 15 s in the full run, as in issue 12.
    idle = 1 if options.short else 60
    settings = archive_settings(
        idle=idle, redis_session_ttl=60, archive_before_ttl_seconds=45, lease=30
    )
    return StackConfig(in_app_archiver=False, settings=settings)


SCENARIOS: dict[str, Scenario] = {
    "agents_kill": Scenario("agents SIGKILL mid-load", agents_kill, _config()),
    "postgres_cut": Scenario("PostgreSQL cut", postgres_cut, _config(), weight=1.3),
    "redis_kill_aof": Scenario("Redis SIGKILL, AOF everysec", redis_kill_aof, _config()),
    "redis_kill_no_aof": Scenario(
        "Redis SIGKILL, no AOF", redis_kill_no_aof, _config(appendonly=False)
    ),
    "worker_kill": Scenario("worker SIGKILL mid-batch", worker_kill, _config(idle=1)),
    "worker_starts_in_outage": Scenario(
        "worker started in a PostgreSQL outage > TTL",
        worker_starts_in_outage,
        _outage_settings,
        worker_at_start=False,
        weight=2.0,
    ),
}


async def run_scenario(name: str, options: Options) -> dict[str, Any]:
    scenario = SCENARIOS[name]
    stack = FaultStack(name, scenario.config(options))
    started = time.monotonic()
    result: dict[str, Any] = {"failures": []}
    try:
        await stack.start(worker=scenario.worker_at_start)
        load, rules, extra = await scenario.body(stack, options)
        await stack.stop_services()
        code, summary = await stack.archive_all()
        archived = await asyncio.to_thread(stack.archived_messages)
        result = tally(load, archived, rules)
        result["failures"] += extra.pop("failures", [])
        result.update(extra)
        result["archiver_all_exit"] = code
        if code != 0:
            result["failures"].append(f"archiver --all exited {code}: {summary}")
        result["tracebacks"] = stack.tracebacks()
    except Exception as exc:  # the harness itself failed: say so, keep the logs
        result["failures"].append(f"harness: {type(exc).__name__}: {exc}")
    finally:
        result["seconds"] = round(time.monotonic() - started, 1)
        keep = options.keep_logs or bool(result["failures"])
        if keep:
            result["logs"] = str(stack.workdir)
        await stack.close(keep_logs=keep)
    result["ok"] = not result["failures"]
    return result
