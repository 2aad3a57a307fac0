"""/dev/sign-in: locally (NEXUS_ENVIRONMENT=local, trusting the dev key pair), a token for any user name.

What `nexus dev-token` prints, for the web page's one-click sign-in. Anywhere else (production, or an API
that trusts a configured key or JWKS) both routes answer 404, as if they did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.core.config import Settings
from api.core.security import MAX_USER_ID_CHARS, ensure_dev_keys, mint_token
from api.deps import StateDep
from api.errors import ApiError
from nexus_core.pricing import Plan

router = APIRouter(prefix="/dev", tags=["dev"], include_in_schema=False)

DEV_TOKEN_TTL_S = 12 * 3600


class DevSignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=MAX_USER_ID_CHARS, pattern=r"^[A-Za-z0-9_.@+-]+$")]
    plan: Plan = Plan.FREE


def dev_sign_in_available(settings: Settings) -> bool:
    """Only where the API mints nothing real: local, and verifying tokens with its own dev key pair."""
    return (settings.core.environment == "local" and settings.dev_keys and settings.jwks_file is None
            and settings.jwt_public_key_file is None)


def _require_local(settings: Settings) -> None:
    if not dev_sign_in_available(settings):
        raise ApiError(404, "not_found", "Not Found")


@router.get("/sign-in")
def dev_sign_in_info(state: StateDep) -> dict[str, Any]:
    """200 when the one-click dev sign-in is available here (404 otherwise)."""
    _require_local(state.settings)
    return {"available": True, "plans": [p.value for p in Plan]}


@router.post("/sign-in")
def dev_sign_in(body: DevSignInIn, state: StateDep) -> dict[str, Any]:
    """A bearer token for this user name and plan, signed with the dev key pair."""
    settings = state.settings
    _require_local(settings)
    private_path, _ = ensure_dev_keys(settings.state_dir)
    token = mint_token(private_path.read_bytes(), user_id=body.user_id, plan=body.plan, ttl_s=DEV_TOKEN_TTL_S,
                       issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return {"access_token": token, "token_type": "bearer", "expires_in": DEV_TOKEN_TTL_S, "user_id": body.user_id,
            "plan": body.plan.value}
