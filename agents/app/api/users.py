"""The history API: a signed-in user's own conversations, profile, export and deletions.

Every route authenticates the bearer token (401), then checks that the path's user is the
token's user (403), before anything is read. Routes are ``async`` over an asyncpg pool, so a
slow query waits without holding a thread or stalling other requests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from app.api.auth import authenticate, bearer_scheme
from app.api.deps import ChatSessionsDep
from app.schemas.history import ConversationDetail, ConversationPage, ErrorBody, UserProfile
from app.services import history, history_delete
from app.services.history_export import export_filename, render_markdown, start_export
from app.services.identity_db_async import HistoryPool

_401 = {"model": ErrorBody, "description": "Missing, malformed, expired or wrongly signed token"}
_403 = {"model": ErrorBody, "description": "The token belongs to another user"}
_404_CONVERSATION = {"model": ErrorBody, "description": "No such conversation of this user"}
_503 = {"model": ErrorBody, "description": "PostgreSQL or Redis did not answer"}

router = APIRouter(
    prefix="/users",
    tags=["history"],
    responses={401: _401, 403: _403, 503: _503},
)


@dataclass(frozen=True)
class HistoryAccess:
    """Whose history a request may read (the path's user, proven by the token) and the pool."""

    user_id: str
    pool: HistoryPool


# One async dependency for authentication, authorization and the pool: each dependency level
# costs FastAPI tens of microseconds per request, a real share of a list request's budget.
async def _history_access(
    request: Request,
    user_id: Annotated[str, Path(description="The user id, usr_XXXXXXXX")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> HistoryAccess:
    claims = authenticate(credentials)
    if claims.user_id != user_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This token belongs to another user")
    return HistoryAccess(user_id=user_id, pool=request.app.state.history_pool)


OwnHistory = Annotated[HistoryAccess, Depends(_history_access)]


def _bad_query(name: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", name), "msg": message, "type": "value_error", "input": None}]
    )


@router.get(
    "/{user_id}/conversations", response_model=ConversationPage, response_model_exclude_unset=True
)
async def list_conversations(
    access: OwnHistory,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    before: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Words to search for in messages"),
    ] = None,
) -> Any:
    """The user's conversations, newest first; with `q`, those whose messages match, best first.

    `next_cursor` passed back as `before` gives the next page, as cheaply deep down as at the
    top. Search results carry a `snippet` of the matching text."""
    if q is not None and "\x00" in q:
        raise _bad_query("q", "must not contain NUL characters")
    cursor = None
    if before is not None:
        try:
            cursor = history.decode_cursor(before)
        except ValueError as exc:
            raise _bad_query("before", str(exc)) from None
        if isinstance(cursor, history.SearchCursor) != (q is not None):
            raise _bad_query("before", "cursor belongs to a different kind of listing")
    if q is not None:
        return await history.search_conversations(
            pool=access.pool,
            user_id=access.user_id,
            query=q,
            limit=limit,
            offset=offset,
            before=cursor if isinstance(cursor, history.SearchCursor) else None,
        )
    # The plain listing is the API's hot path: its body comes ready-made from PostgreSQL (in the
    # ConversationPage shape, which the tests check) and goes out as is, skipping FastAPI's
    # response validation and serialisation; response_model still documents it.
    body = await history.list_conversations_json(
        pool=access.pool,
        user_id=access.user_id,
        limit=limit,
        offset=offset,
        before=cursor if isinstance(cursor, history.KeysetCursor) else None,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/{user_id}/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        404: _404_CONVERSATION,
    },
)
async def get_conversation(
    access: OwnHistory,
    conversation_id: uuid.UUID,
    format: Annotated[
        Literal["json", "markdown"], Query(description="markdown: a readable transcript")
    ] = "json",
) -> Any:
    """One conversation with all of its messages."""
    conversation = await history.get_conversation(
        pool=access.pool, user_id=access.user_id, conversation_id=conversation_id
    )
    if format == "markdown":
        return Response(render_markdown(conversation), media_type="text/markdown; charset=utf-8")
    return conversation


@router.delete(
    "/{user_id}/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: _404_CONVERSATION},
)
async def delete_conversation(
    access: OwnHistory, conversation_id: uuid.UUID, sessions: ChatSessionsDep
) -> Response:
    """Delete one conversation: archived (PostgreSQL) and live (Redis) copies."""
    await history_delete.delete_conversation(
        pool=access.pool,
        sessions=sessions,
        user_id=access.user_id,
        conversation_id=conversation_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.api_route(
    "/{user_id}/conversations/{conversation_id}",
    methods=["POST", "PUT", "PATCH", "OPTIONS"],
    include_in_schema=False,
)
async def conversation_method_not_allowed() -> Response:
    # Starlette's own 405 names only the first route matching the path (GET), but a 405 must list
    # every method the resource supports.
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": "GET, DELETE"},
    )


@router.get(
    "/{user_id}/profile",
    response_model=UserProfile,
    responses={404: {"model": ErrorBody, "description": "No such user"}},
)
async def get_profile(access: OwnHistory) -> dict[str, Any]:
    """Who the user is, and how many conversations they have had, first and last."""
    return await history.get_profile(pool=access.pool, user_id=access.user_id)


@router.get(
    "/{user_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "JSON Lines: one conversation (as the detail route returns it) a line",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def export_conversations(access: OwnHistory) -> StreamingResponse:
    """Download every conversation of the user, streamed without holding them all in memory."""
    chunks = await start_export(pool=access.pool, user_id=access.user_id)
    filename = export_filename(access.user_id)
    return StreamingResponse(
        chunks,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _history_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, history.HistoryError)
    headers = {"Retry-After": "5"} if isinstance(exc, history.HistoryUnavailable) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def add_history_error_handler(app: FastAPI) -> None:
    """Map the history error family to HTTP, once."""
    app.add_exception_handler(history.HistoryError, _history_error)
