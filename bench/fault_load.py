"""The fault suite's chat load: clients that behave as the homepage does when things fail.

Each client owns one conversation (a valid token from ``shared.tokens.issue_token``) and sends
messages, each with its own ``message_id``, moving between the agents processes every few
messages. An ``error`` frame, a dropped socket or a reply that does not come makes it retry
the same message (same ``message_id``) after a short pause, reconnecting when the socket is
gone or the server no longer knows the conversation; a message counts as replied once its
``cj_message`` arrives. On every ``conversation_started`` the client compares the server's
copy with the messages it saw acknowledged. Missing ones were reported to the user when the
copy is marked ``restored`` (it came back from the archive) or ``resumed`` is false (the server
has nothing under this id: everything the client showed is gone, and the frame says so); missing
from a copy that claims to be the live conversation (resumed, not restored), they were not.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from shared.ids import user_id_for_shop
from shared.tokens import issue_token

REPLY_TIMEOUT = 15.0
# Errors after which only a new `start` can help (the server lost or never had the session).
RECONNECT_ERRORS = ("conversation not found", "send a 'start' frame first")
SOCKET_ERRORS = (OSError, TimeoutError, InvalidHandshake, WebSocketException)


@dataclass
class Sent:
    """One distinct message a client sent (perhaps several times)."""

    message_id: str
    text: str
    attempts: int = 0
    replied_at: float | None = None
    reply_id: str | None = None


@dataclass
class Counters:
    errors: int = 0
    error_texts: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    connects: int = 0
    connect_failures: int = 0
    restored_frames: int = 0

    def saw_error(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "error":
            self.errors += 1
            self.error_texts[str(frame.get("text"))[:80]] += 1


@dataclass
class LoadPlan:
    think: tuple[float, float] = (0.3, 0.9)  # seconds between a reply and the next message
    switch_every: tuple[int, int] = (3, 6)  # messages on one socket before moving
    messages: int | None = None  # per client; None = until stopped
    drain_seconds: float = 30.0  # how long a message in flight may still be retried at the end


@dataclass
class ChatClient:
    index: int
    ports: Sequence[int]
    secret: str
    counters: Counters
    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent: list[Sent] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)  # every message id the client was shown
    reported_lost: set[str] = field(default_factory=set)  # missing from a restored copy
    lost_as_new: set[str] = field(default_factory=set)  # missing: the server started it anew
    unreported_missing: set[str] = field(default_factory=set)
    _ws: ClientConnection | None = None
    _port_index: int = 0

    def __post_init__(self) -> None:
        self.shop = f"faults-{self.index}.myshopify.com"
        self.user_id = user_id_for_shop(self.shop)
        self.token = issue_token(
            user_id=self.user_id, shop=self.shop, secret=self.secret, ttl_seconds=3600
        )
        self._port_index = self.index % len(self.ports)
        self._rng = random.Random(self.index)

    # The load ----------------------------------------------------------------------------------

    async def run(self, plan: LoadPlan, stop: asyncio.Event, stop_at: list[float]) -> None:
        """Chat until ``stop`` is set (or ``plan.messages`` are sent)."""
        on_socket, switch_after = 0, self._rng.randint(*plan.switch_every)
        try:
            while not stop.is_set() and (plan.messages is None or len(self.sent) < plan.messages):
                number = len(self.sent)
                message = Sent(str(uuid.uuid4()), f"client {self.index} message {number}")
                self.sent.append(message)
                await self._say(message, stop, stop_at, plan.drain_seconds)
                on_socket += 1
                if on_socket >= switch_after:
                    await self._close()
                    self._port_index += 1
                    on_socket, switch_after = 0, self._rng.randint(*plan.switch_every)
                await _sleep_unless(stop, self._rng.uniform(*plan.think))
        finally:
            await self._close()

    async def _say(
        self, message: Sent, stop: asyncio.Event, stop_at: list[float], drain: float
    ) -> None:
        failures = 0
        frame = {"type": "message", "text": message.text, "message_id": message.message_id}
        while not (stop.is_set() and time.monotonic() > stop_at[0] + drain):
            if failures:
                await asyncio.sleep(min(0.2 * 2**failures, 2.0) * self._rng.uniform(0.75, 1.25))
            if self._ws is None and not await self._connect():
                failures += 1
                continue
            assert self._ws is not None
            message.attempts += 1
            try:
                await self._ws.send(json.dumps(frame))
                answer = json.loads(await asyncio.wait_for(self._ws.recv(), REPLY_TIMEOUT))
            except SOCKET_ERRORS:
                self.counters.dropped += 1
                await self._drop()
                failures += 1
                continue
            if answer.get("type") == "cj_message":
                message.replied_at = time.time()
                message.reply_id = answer.get("message_id")
                self.seen_ids |= {message.message_id, message.reply_id or ""}
                return
            self.counters.saw_error(answer)
            failures += 1
            if str(answer.get("text", "")).startswith(RECONNECT_ERRORS) or failures % 4 == 0:
                await self._close()

    # Sockets -----------------------------------------------------------------------------------

    async def _connect(self) -> bool:
        """Open a socket to the next agents process and `start`; False when that failed."""
        port = self.ports[self._port_index % len(self.ports)]
        self.counters.connects += 1
        try:
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/chat/{self.conversation_id}", open_timeout=5
            )
        except SOCKET_ERRORS:
            self.counters.connect_failures += 1
            self._port_index += 1  # that process may be dead: try the other next time
            return False
        start = {
            "type": "start",
            "workflow": "shopify_onboarding",
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "merchant_id": None,
            "token": self.token,
        }
        try:
            await ws.send(json.dumps(start))
            started = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
            if started.get("type") != "conversation_started":
                self.counters.saw_error(started)
                await ws.close()
                return False
            messages = started.get("messages") or []
            self._compare(started, messages)
            if not any(m.get("sender") == "cj" for m in messages):
                greeting = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
                self.seen_ids.add(greeting.get("message_id") or "")
        except SOCKET_ERRORS:
            self.counters.dropped += 1
            await _close_quietly(ws)
            self._port_index += 1
            return False
        self._ws = ws
        return True

    def _compare(self, started: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        """What this client saw acknowledged and the server's copy no longer has."""
        held = {m.get("message_id") for m in messages}
        missing = (
            {
                s.message_id
                for s in self.sent
                if s.replied_at is not None and s.message_id not in held
            }
            - self.reported_lost
            - self.lost_as_new
        )
        if started.get("restored"):
            self.counters.restored_frames += 1
            self.reported_lost |= missing
        elif not started.get("resumed"):
            self.lost_as_new |= missing
        else:
            self.unreported_missing |= missing

    async def _close(self) -> None:
        if self._ws is not None:
            await _close_quietly(self._ws)
            self._ws = None

    async def _drop(self) -> None:
        await self._close()
        self._port_index += 1


async def _close_quietly(ws: ClientConnection) -> None:
    try:
        await asyncio.wait_for(ws.close(), 2)
    except (*SOCKET_ERRORS, asyncio.CancelledError):
        pass


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


class ChatLoad:
    """N clients chatting against ``ports`` until ``stop()``; every client's record kept."""

    def __init__(self, *, clients: int, ports: Sequence[int], secret: str, plan: LoadPlan) -> None:
        self.counters = Counters()
        self.plan = plan
        self._ports, self._secret = ports, secret
        self.clients: list[ChatClient] = []
        self._stop = asyncio.Event()
        self._stop_at = [float("inf")]
        self._tasks: list[asyncio.Task[None]] = []
        self.add(clients)

    def add(self, count: int) -> list[ChatClient]:
        """``count`` more clients (each a new conversation); they chat once ``start`` ran."""
        first = len(self.clients)
        added = [
            ChatClient(index=i, ports=self._ports, secret=self._secret, counters=self.counters)
            for i in range(first, first + count)
        ]
        self.clients += added
        if self._tasks:
            self._run(added)
        return added

    def _run(self, clients: list[ChatClient]) -> None:
        self._tasks += [
            asyncio.create_task(client.run(self.plan, self._stop, self._stop_at))
            for client in clients
        ]

    def start(self) -> None:
        self._run(self.clients)

    async def finish(self) -> None:
        """Wait for every client to send its planned messages (``plan.messages``)."""
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        """No new messages; those in flight are retried for ``plan.drain_seconds`` more."""
        self._stop_at[0] = time.monotonic()
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def last_reply_at(self) -> float:
        return max((s.replied_at or 0.0 for c in self.clients for s in c.sent), default=0.0)
