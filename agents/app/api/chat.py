"""``WS /ws/chat/{conversation_id}``: the chat WebSocket (frames in ``app.schemas.chat``).

Thin on purpose: it reads frames, turns bad ones into ``error`` frames (the socket stays open and
nothing is stored), and hands good ones to :class:`ChatConnection`. Each frame's work runs to the
end even if the client goes away meanwhile, so a reply that was being written is still stored.

A browser page from another origin may not open the chat (a cross-site page would otherwise
talk to it with the visitor's network position): an ``Origin`` other than FRONTEND_URL's (or,
in development, one of CHAT_ALLOWED_ORIGINS) gets one ``error`` frame and a close with 1008
(policy violation) before any frame is read. Accepting first is deliberate: a handshake refused
with a 403 reaches the page only as close code 1006 with no reason, while this way the page and
its console show both the reason and 1008. No ``Origin`` at all (curl, tests, server clients) is
not a browser and is let in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel

from app.config import Settings, get_settings
from app.core.outage import Outage
from app.exceptions import ChatError, StoreUnavailable
from app.schemas.chat import (
    ErrorFrame,
    FrameError,
    MessageFrame,
    OAuthCompleteFrame,
    PingFrame,
    Pong,
    StartFrame,
    parse_client_frame,
)
from app.services.chat.abuse_limits import ChatLimits, ConnectionLimits
from app.services.chat.connection import ChatConnection
from shared.production_surface import origin_of
from shared.redis_client import REDIS_ERRORS
from shared.settings import token_secrets

logger = logging.getLogger(__name__)

UNAVAILABLE = "CJ is briefly unavailable; please try again in a moment"
# One line when frames start failing on a store, one when they succeed again: a store outage
# under load is thousands of failed frames, each answered with an error frame.
_outage = Outage(
    "Redis or PostgreSQL",
    who="chat",
    meanwhile="each frame gets an error frame; nothing unconfirmed is acknowledged",
)
FOREIGN_ORIGIN = "this page's origin may not open the chat"

# Frame handlers that outlive a dropped socket; kept referenced until they finish.
_in_flight: set[asyncio.Task[list[BaseModel]]] = set()


async def finish_in_flight() -> None:
    """Wait for frame handlers whose sockets went away (the app's lifespan, at shutdown)."""
    if _in_flight:
        await asyncio.gather(*_in_flight, return_exceptions=True)


router = APIRouter(tags=["chat"])


@router.websocket("/ws/chat/{conversation_id}")
async def chat_socket(websocket: WebSocket, conversation_id: str) -> None:
    """Live chat with CJ. Frames and their answers are listed in the contract."""
    settings = get_settings()
    await websocket.accept()
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in _allowed_origins(settings):
        logger.warning("chat refused for a page from another origin")
        await _send(websocket, [ErrorFrame(text=FOREIGN_ORIGIN)])
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=FOREIGN_ORIGIN)
        return
    state = websocket.app.state
    client_host = websocket.client.host if websocket.client else "unknown"
    connection = ChatConnection(
        path_conversation_id=conversation_id,
        sessions=state.chat_sessions,
        responder=state.responder,
        pool=state.db,
        token_secrets=token_secrets(settings),
        revocations=state.revocations,
        limits=ConnectionLimits(
            limiter=state.rate_limiter,
            limits=ChatLimits.from_settings(settings),
            client_host=client_host,
        ),
    )
    try:
        if not connection.path_is_valid:
            # Kept open (ping still answers) so the client reads the reason; a start is refused
            # with the same reason, so nothing is ever stored under a malformed id.
            await _send(
                websocket, [ErrorFrame(text="the conversation id in the address must be a UUID")]
            )
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes")
            await _send(websocket, await _answer(connection, raw))
    except WebSocketDisconnect:
        return


def _allowed_origins(settings: Settings) -> set[str]:
    return {origin_of(settings.frontend_url), *settings.chat_allowed_origins}


async def _answer(connection: ChatConnection, raw: str | bytes | None) -> list[BaseModel]:
    try:
        frame = parse_client_frame(raw)
    except FrameError as exc:
        return [ErrorFrame(text=str(exc))]
    if isinstance(frame, PingFrame):
        return [Pong()]
    if isinstance(frame, StartFrame):
        work: Awaitable[list[BaseModel]] = connection.start(frame)
    elif isinstance(frame, MessageFrame):
        work = connection.message(frame)
    elif isinstance(frame, OAuthCompleteFrame):
        work = connection.oauth_complete(frame)
    else:
        work = connection.end_conversation()
    task = asyncio.ensure_future(_guarded(work))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)
    # Shielded: if the socket's handler is cancelled, the frame's writes still complete.
    return await asyncio.shield(task)


async def _guarded(work: Awaitable[list[BaseModel]]) -> list[BaseModel]:
    try:
        frames = await work
    except ChatError as exc:
        return [ErrorFrame(text=str(exc))]
    except (StoreUnavailable, *REDIS_ERRORS) as exc:
        cause = exc.__cause__ if isinstance(exc, StoreUnavailable) and exc.__cause__ else exc
        _outage.failed(cause)
        return [ErrorFrame(text=UNAVAILABLE)]
    _outage.recovered()
    return frames


async def _send(websocket: WebSocket, frames: list[BaseModel]) -> None:
    for frame in frames:
        try:
            await websocket.send_text(frame.model_dump_json())
        except RuntimeError:
            # Starlette's answer to sending on a socket that has already closed.
            raise WebSocketDisconnect(code=1006) from None
