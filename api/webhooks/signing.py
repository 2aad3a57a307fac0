"""The Standard Webhooks signature: `v1,` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")).

Secrets are `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64). During a rotation's grace
period a message carries one signature per secret, space-separated, so receivers can switch at leisure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the message."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three webhook-* headers (one signature per secret, newest first) and the content type."""
    signature = " ".join(sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature,
            "content-type": "application/json"}
