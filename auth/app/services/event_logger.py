"""User events (``events`` table): written beside the change they describe, never fatal.

Each event goes in its own SAVEPOINT inside the caller's transaction, so it commits with the
user and merchant rows it describes; if the insert fails, only the savepoint is rolled back,
the failure is logged, and the OAuth or webhook carries on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.errors import first_line

logger = logging.getLogger(__name__)

USER_CREATED = "user_created"
OAUTH_COMPLETE = "oauth_complete"
APP_UNINSTALLED = "app_uninstalled"
CUSTOMERS_DATA_REQUEST = "customers_data_request"
CUSTOMERS_REDACT = "customers_redact"

_INSERT = text(
    "INSERT INTO events (user_id, event_type, event_data) "
    "VALUES (:user_id, :event_type, CAST(:event_data AS jsonb))"
)


def log_user_event(
    *, session: Session, user_id: str | None, event_type: str, event_data: dict[str, Any]
) -> bool:
    """Record one event; True when written, False (logged) when the insert failed."""
    try:
        with session.begin_nested():
            session.execute(
                _INSERT,
                {
                    "user_id": user_id,
                    "event_type": event_type,
                    "event_data": json.dumps(event_data, default=str),
                },
            )
    except SQLAlchemyError as exc:
        logger.error(
            "event %s for %s not recorded: %s",
            event_type,
            user_id,
            first_line(exc),
        )
        return False
    return True
