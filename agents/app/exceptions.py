"""The agents service's error family, mapped to HTTP once (``exception_handlers.py``).

Every failure a client can cause or meet is one of these, with a message a person can act on.
Over HTTP the handler turns one into ``{"detail": message}`` with the class's status; on the
chat WebSocket the same message goes out in an ``error`` frame and the socket stays open.
"""

from __future__ import annotations


class AgentsError(Exception):
    status_code = 500
    detail = "internal error"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class NotAuthenticated(AgentsError):
    """No bearer token, or one that does not verify (401, with the challenge header)."""

    status_code = 401
    detail = "Not authenticated: send Authorization: Bearer <token>"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AgentsError):
    status_code = 403
    detail = "This token belongs to another user"


class NotFoundError(AgentsError):
    status_code = 404
    detail = "Not found"


class ConversationNotFound(NotFoundError):
    # The same answer for "no such id" and "someone else's": existence is never revealed.
    detail = "Conversation not found"


class UserNotFound(NotFoundError):
    detail = "User not found"


class InvalidInputError(AgentsError):
    """A query value that passed its type check but is not one this API issued (a cursor)."""

    status_code = 422

    def __init__(self, *, parameter: str, detail: str) -> None:
        super().__init__(detail)
        self.parameter = parameter


class NotConfigured(AgentsError):
    """A setting the request needs is unset (503); the message names the variable."""

    status_code = 503


class StoreUnavailable(AgentsError):
    """PostgreSQL or Redis did not answer; nothing was changed, and a retry may succeed."""

    status_code = 503
    detail = "The history store is unavailable; try again shortly"
    headers = {"Retry-After": "5"}


class ChatError(AgentsError):
    """A chat frame that cannot be honoured; its message goes back in an ``error`` frame."""

    status_code = 400


# Live conversations (the Redis session store; a missing or foreign one is ConversationNotFound).
# The chat turns each into a ChatError with a message for the client.


class SessionError(AgentsError):
    """A live-conversation write that cannot be made."""

    status_code = 409


class ConversationAlreadyExists(SessionError):
    """``create_session`` lost a race: another writer created the conversation first."""


class ConversationEndedError(SessionError):
    """The conversation has ended; it takes no more messages."""


class ConversationFull(SessionError):
    """The conversation holds CHAT_MAX_MESSAGES_PER_CONVERSATION messages; it takes no more."""


class NotReplicated(SessionError):
    """WAIT did not see REDIS_WAIT_REPLICAS replicas take the write in time: not acknowledged."""

    status_code = 503
    headers = {"Retry-After": "1"}
