"""JWT RS256 verification, dev keys and tokens, signed download URLs. No FastAPI here.

Only RS256 is accepted: the algorithm comes from our configuration, never from the token, so `alg: none`
and HS256 signed with the public key as an HMAC secret are refused before any claim is read.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nexus_core.download_links import artifact_signature, ensure_signing_secret
from nexus_core.download_links import create_once as _create_once
from nexus_core.pricing import Plan

ALGORITHM = "RS256"
MAX_USER_ID_CHARS = 128
DEV_PRIVATE_KEY = "dev-jwt-private.pem"
DEV_PUBLIC_KEY = "dev-jwt-public.pem"
URL_SIGNING_KEY = "url-signing.key"


class AuthError(Exception):
    """A token was refused; `code` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified token."""

    user_id: str
    plan: Plan
    roles: frozenset[str]
    expires_at: int

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class TokenVerifier:
    """Verifies RS256 bearer tokens against one public key or the keys of a JWKS (chosen by `kid`)."""

    def __init__(
        self,
        keys: Mapping[str | None, rsa.RSAPublicKey],
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_s: int = 0,
        cache_size: int = 10_000,
    ) -> None:
        if not keys:
            raise ValueError("a TokenVerifier needs at least one public key")
        self._keys = dict(keys)
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        # Tokens that verified, by their exact text: a client sends the same token many times, and an RSA
        # verification costs more than the rest of a status read. A hit still honours `exp`.
        self._verified: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_pem(cls, pem: bytes, **options: Any) -> TokenVerifier:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("the JWT public key must be an RSA key (RS256)")
        return cls({None: key}, **options)

    @classmethod
    def from_jwks(cls, document: str | bytes, **options: Any) -> TokenVerifier:
        keys: dict[str | None, rsa.RSAPublicKey] = {}
        for jwk in jwt.PyJWKSet.from_json(document if isinstance(document, str) else document.decode()).keys:
            if isinstance(jwk.key, rsa.RSAPublicKey) and jwk.algorithm_name in (ALGORITHM, None, ""):
                keys[jwk.key_id] = jwk.key
        if not keys:
            raise ValueError("the JWKS holds no RSA signing key for RS256")
        return cls(keys, **options)

    def _key_for(self, header: Mapping[str, Any]) -> rsa.RSAPublicKey:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("invalid_token", "the token's kid header is not a string")
        if kid in self._keys:
            return self._keys[kid]
        if len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthError("unknown_key", "the token names no key that this server trusts (kid)")

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises AuthError with the reason otherwise."""
        with self._lock:
            cached = self._verified.get(token)
        if cached is not None and cached.expires_at + self._leeway_s > time.time():
            return cached
        principal = self._verify(token)
        if self._cache_size:
            with self._lock:
                self._verified[token] = principal
                while len(self._verified) > self._cache_size:
                    self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError("malformed_token", "the bearer token is not a well-formed JWT") from exc
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise AuthError("algorithm_not_allowed", f"tokens must be signed with {ALGORITHM}, not {alg!r}")
        key = self._key_for(header)
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=self._issuer, audience=self._audience,
                leeway=self._leeway_s,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("invalid_signature", "the token's signature does not verify") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("missing_claim", f"the token has no {exc.claim!r} claim") from exc
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as exc:
            raise AuthError("invalid_claim", str(exc)) from exc
        except jwt.InvalidAlgorithmError as exc:
            raise AuthError("algorithm_not_allowed", str(exc)) from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("invalid_token", f"the token is not valid: {exc}") from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal from verified claims (sub, plan, roles, exp); raises AuthError on bad values."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_USER_ID_CHARS or not sub.isprintable():
        raise AuthError("invalid_claim", f"sub must be a printable user id of 1-{MAX_USER_ID_CHARS} characters")
    raw_plan = claims.get("plan", Plan.FREE.value)
    try:
        plan = Plan(raw_plan)
    except ValueError as exc:
        allowed = ", ".join(p.value for p in Plan)
        raise AuthError("invalid_claim", f"plan must be one of {allowed}, not {raw_plan!r}") from exc
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise AuthError("invalid_claim", "roles must be a list of strings")
    exp = claims.get("exp")
    return Principal(user_id=sub, plan=plan, roles=frozenset(roles), expires_at=int(exp) if exp else 0)


# -- keys and tokens --------------------------------------------------------------------------------


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def ensure_dev_keys(directory: Path) -> tuple[Path, Path]:
    """The dev key pair under directory (private, public), created on first use."""
    private_path = directory / DEV_PRIVATE_KEY
    pem = _create_once(private_path, private_key_pem(generate_private_key()))
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{private_path} is not an RSA private key")
    public_path = directory / DEV_PUBLIC_KEY
    if _create_once(public_path, public_key_pem(key), mode=0o644) != public_key_pem(key):
        raise ValueError(f"{public_path} does not match {private_path}: remove both to make a new dev pair")
    return private_path, public_path


def mint_token(
    private_pem: bytes,
    *,
    user_id: str,
    plan: Plan | str = Plan.FREE,
    roles: Iterable[str] = (),
    ttl_s: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
    kid: str | None = None,
    now: float | None = None,
) -> str:
    """An RS256 token for a user (what `nexus dev-token` prints)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": user_id, "plan": Plan(plan).value, "roles": sorted(set(roles)), "iat": issued, "exp": issued + ttl_s,
    }
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    key = serialization.load_pem_private_key(private_pem, password=None)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid} if kid else None)  # type: ignore[arg-type]


# -- signed download URLs ---------------------------------------------------------------------------


def ensure_secret(path: Path) -> bytes:
    """A 32-byte secret kept in a file (created on first use), shared by every worker on the machine."""
    return ensure_signing_secret(path)


class UrlSigner:
    """HMAC-SHA256 signatures of (video id, artifact, expiry): short-lived links that name no path."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the URL signing secret must be at least 16 bytes")
        self._secret = secret

    @property
    def secret(self) -> bytes:
        return self._secret

    def signature(self, video_id: str, artifact: str, expires: int) -> str:
        return artifact_signature(self._secret, video_id, artifact, expires)  # the sensors sign with it too

    def verify(self, video_id: str, artifact: str, expires: int, signature: str, *, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self.signature(video_id, artifact, expires).encode(), signature.encode())
