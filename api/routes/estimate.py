"""POST /videos/estimate: what a request would cost, whether the plan allows it, how long it would take.

It reserves nothing and records nothing: the answer is what `POST /videos/generate` would charge now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from api import estimates, ledger
from api.deps import CurrentUser, StateDep
from api.models import ErrorResponse
from api.routes.videos import GENERATE_EXAMPLES
from nexus_core.models import Quality, Resolution, VideoRequest
from nexus_core.pricing import PLAN_LIMITS, Plan, plan_violations, token_cost

router = APIRouter(prefix="/videos", tags=["videos"])


class PlanViolationOut(BaseModel):
    field: str = Field(description="The request field the plan does not allow.")
    message: str


class PlanCheck(BaseModel):
    name: Plan
    allowed: bool = Field(description="Whether the plan allows this request (else generate answers 403).")
    violations: list[PlanViolationOut]
    max_duration_s: int
    qualities: list[Quality]
    max_resolution: Resolution


class GenerationTime(BaseModel):
    expected_s: float = Field(description="Expected seconds from start to COMPLETED, once the video starts.")
    basis: str = Field(description="'recent': fitted to the latest completed videos; 'default': no history yet.")
    samples: int = Field(description="How many completed videos the estimate learned from.")
    queue_ahead: int = Field(description="Videos QUEUED now (everyone's), ahead of a request made now.")


class EstimateOut(BaseModel):
    token_cost: int = Field(description="Tokens that generate would reserve (and charge at COMPLETED).")
    balance: int = Field(description="Spendable tokens now (a new account's welcome tokens if it has none yet).")
    reserved: int = Field(description="Tokens held for the caller's videos in flight.")
    enough_tokens: bool
    shortfall: int = Field(description="Tokens missing to afford it (0 when the balance covers it).")
    plan: PlanCheck
    generation: GenerationTime


EXAMPLE = {
    "token_cost": 45, "balance": 100, "reserved": 0, "enough_tokens": True, "shortfall": 0,
    "plan": {"name": "FREE", "allowed": True, "violations": [], "max_duration_s": 120,
             "qualities": ["STANDARD", "HD"], "max_resolution": "1080p"},
    "generation": {"expected_s": 38.5, "basis": "recent", "samples": 12, "queue_ahead": 0},
}


@router.post(
    "/estimate", response_model=EstimateOut,
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}},
               400: {"model": ErrorResponse, "description": "The body is not JSON."},
               401: {"model": ErrorResponse, "description": "No valid bearer token."},
               429: {"model": ErrorResponse, "description": "Over the rate limit; see Retry-After."}},
)
def estimate(
    body: Annotated[VideoRequest, Body(openapi_examples=GENERATE_EXAMPLES)], user: CurrentUser, state: StateDep
) -> dict[str, Any]:
    """The token cost, the plan check and the expected generation time of a request, reserving nothing."""
    cost = token_cost(body, gpu_pool=state.settings.gpu_pool)
    violations = plan_violations(user.plan, body)
    limits = PLAN_LIMITS[user.plan]
    ledger.settle_finished(state.db, user_id=user.user_id)  # as GET /tokens does: a stale hold is not spendable
    with state.db.read() as session:
        current = ledger.get_balance(session, user_id=user.user_id)
        generation = estimates.expected_generation(session, duration_s=body.duration_seconds,
                                                   resolution=Resolution(body.resolution))
    balance = current.balance if current is not None else limits.welcome_tokens
    reserved = current.reserved if current is not None else 0
    return {
        "token_cost": cost, "balance": balance, "reserved": reserved, "enough_tokens": balance >= cost,
        "shortfall": max(0, cost - balance),
        "plan": {"name": user.plan, "allowed": not violations,
                 "violations": [{"field": v.field, "message": v.message} for v in violations],
                 "max_duration_s": limits.max_duration_s,
                 "qualities": [q for q in Quality if q in limits.qualities], "max_resolution": limits.max_resolution},
        "generation": {"expected_s": generation.seconds, "basis": generation.basis, "samples": generation.samples,
                       "queue_ahead": generation.queue_ahead},
    }
