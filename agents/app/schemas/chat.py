"""The chat WebSocket's frames, as pydantic models.

Client frames are validated strictly (a number is not a string, a string is not a boolean) and
unknown extra keys are ignored, so a newer client keeps working with this server. Parsing never
raises anything but :class:`FrameError`, whose message is safe to send back in an ``error`` frame:
a frame nested deeper than ``MAX_FRAME_DEPTH`` or holding a NUL or an unpaired surrogate in any
string is refused whole (``shared.safe_json``), so nothing unstorable reaches Redis or PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.constants import DEFAULT_WORKFLOW, MAX_MESSAGE_CHARS
from shared.safe_json import UnsafeJsonError, loads_checked

# A frame carries at most one message of 8,000 characters (up to 4 UTF-8 bytes each) plus a token.
MAX_FRAME_BYTES = 64 * 1024
MAX_WORKFLOW_CHARS = 100
# Frames are flat objects; a little depth is left for fields a newer client may add.
MAX_FRAME_DEPTH = 8


class FrameError(ValueError):
    """A client frame that cannot be accepted; the message says why, for the client."""


class _ClientFrame(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class StartFrame(_ClientFrame):
    type: Literal["start"]
    conversation_id: str
    workflow: str = Field(default=DEFAULT_WORKFLOW, min_length=1, max_length=MAX_WORKFLOW_CHARS)
    merchant_id: str | None = None
    user_id: str | None = None
    token: str | None = None


class MessageFrame(_ClientFrame):
    type: Literal["message"]
    text: str
    # A UUID the client chose: sending the same message again (a retry after an error frame or
    # a dropped socket) stores it once and answers with the reply already given.
    message_id: str | None = None


class OAuthCompleteFrame(_ClientFrame):
    type: Literal["oauth_complete"]
    token: str
    oauth_provider: str = "shopify"
    is_new: bool = False
    merchant_id: str | None = None
    user_id: str | None = None


class EndConversationFrame(_ClientFrame):
    type: Literal["end_conversation"]


class PingFrame(_ClientFrame):
    type: Literal["ping"]


ClientFrame = StartFrame | MessageFrame | OAuthCompleteFrame | EndConversationFrame | PingFrame

_FRAME_MODELS: dict[str, type[_ClientFrame]] = {
    "start": StartFrame,
    "message": MessageFrame,
    "oauth_complete": OAuthCompleteFrame,
    "end_conversation": EndConversationFrame,
    "ping": PingFrame,
}


def parse_client_frame(raw: str | bytes | None) -> ClientFrame:
    """The frame ``raw`` encodes, or FrameError naming what is wrong with it."""
    if raw is None:
        raise FrameError("frames must be JSON text")
    # surrogatepass: a lone surrogate is refused below with a reason, not by a crash here.
    size = (
        len(raw)
        if isinstance(raw, bytes) or len(raw) > MAX_FRAME_BYTES
        else len(raw.encode(errors="surrogatepass"))
    )
    if size > MAX_FRAME_BYTES:
        raise FrameError(f"frame is larger than {MAX_FRAME_BYTES} bytes")
    try:
        data: Any = loads_checked(raw, max_depth=MAX_FRAME_DEPTH)
    except UnsafeJsonError as exc:
        raise FrameError(f"frame {exc}") from None
    if not isinstance(data, dict):
        raise FrameError("frame must be a JSON object")
    frame_type = data.get("type")
    if not isinstance(frame_type, str):
        raise FrameError("frame has no 'type'")
    model = _FRAME_MODELS.get(frame_type)
    if model is None:
        raise FrameError(f"unknown frame type {frame_type[:40]!r}")
    try:
        frame = model.model_validate(data)
    except ValidationError as exc:
        raise FrameError(_describe(frame_type, exc)) from None
    if isinstance(frame, MessageFrame):
        check_message_text(frame.text)
        if frame.message_id is not None:
            try:
                frame = frame.model_copy(update={"message_id": str(uuid.UUID(frame.message_id))})
            except ValueError:
                raise FrameError(
                    "'message' frame has an invalid 'message_id': not a UUID"
                ) from None
    return frame  # type: ignore[return-value]


def check_message_text(text: str) -> None:
    if not text.strip():
        raise FrameError("message text is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise FrameError(f"message text is longer than {MAX_MESSAGE_CHARS} characters")


def _describe(frame_type: str, exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "frame"
    if error["type"] == "missing":
        return f"'{frame_type}' frame is missing '{field}'"
    return f"'{frame_type}' frame has an invalid '{field}': {error['msg']}"


# Server frames -----------------------------------------------------------------------------


class StoredMessage(BaseModel):
    """One message as kept in Redis and archived: sender, content, ISO 8601 UTC timestamp."""

    sender: Literal["user", "cj"]
    content: str
    timestamp: str
    message_id: str | None = None


class ConversationStarted(BaseModel):
    type: Literal["conversation_started"] = "conversation_started"
    conversation_id: str
    user_id: str | None
    workflow: str
    resumed: bool
    messages: list[StoredMessage]
    # True when Redis no longer had the conversation and it came back from PostgreSQL, as it
    # was when archived at ``archived_at``: anything said after that moment was lost with Redis.
    restored: bool = False
    archived_at: str | None = None
    # "verified" (a valid token proved user_id), "anonymous" (no token), or "rejected" (a token
    # came and was not valid, so the conversation continues without a user).
    identity: Literal["verified", "anonymous", "rejected"]


class CjMessage(BaseModel):
    type: Literal["cj_message"] = "cj_message"
    content: str
    timestamp: str
    message_id: str


class OAuthProcessed(BaseModel):
    type: Literal["oauth_processed"] = "oauth_processed"
    success: bool
    is_new: bool
    merchant_id: str | None
    user_id: str | None


class ConversationEnded(BaseModel):
    type: Literal["conversation_ended"] = "conversation_ended"
    conversation_id: str
    ended_at: str


class Pong(BaseModel):
    type: Literal["pong"] = "pong"


class ErrorFrame(BaseModel):
    type: Literal["error"] = "error"
    text: str
