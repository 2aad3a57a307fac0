"""/tokens: the caller's balance and ledger; /admin/tokens/grant: an admin adds tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import ledger
from api.deps import AdminUser, CurrentUser, StateDep
from api.models import BalanceOut, ErrorResponse, GrantIn, TokensOut

router = APIRouter(tags=["tokens"])


@router.get("/tokens", response_model=TokensOut, responses={401: {"model": ErrorResponse},
                                                           429: {"model": ErrorResponse}})
def get_tokens(
    user: CurrentUser, state: StateDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    """Balance, reserved tokens and the latest ledger rows (finished videos are settled first)."""
    ledger.settle_finished(state.db, user_id=user.user_id)
    with state.db.write() as session:
        ledger.ensure_account(session, user_id=user.user_id, plan=user.plan, now=datetime.now(UTC))
        balance = ledger.get_balance(session, user_id=user.user_id)
        entries = ledger.recent_entries(session, user_id=user.user_id, limit=limit)
    assert balance is not None
    return {"user_id": user.user_id, "plan": user.plan, "balance": balance.balance, "reserved": balance.reserved,
            "entries": entries}


@router.post("/admin/tokens/grant", response_model=BalanceOut, tags=["admin"],
             responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                        413: {"model": ErrorResponse}, 429: {"model": ErrorResponse}})
def grant_tokens(body: GrantIn, admin: AdminUser, state: StateDep) -> dict[str, Any]:
    """Add tokens to a user's balance (admin role): one grant row in the ledger."""
    with state.db.write() as session:
        balance = ledger.grant(session, user_id=body.user_id, amount=body.amount, now=datetime.now(UTC),
                               note=body.note or f"granted by {admin.user_id}")
    return {"user_id": body.user_id, "balance": balance.balance, "reserved": balance.reserved}
