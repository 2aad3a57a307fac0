"""Every way a bearer token can be wrong gets 401 with a JSON reason; claims of bad tokens are never used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from api.core.security import (
    AuthError,
    TokenVerifier,
    generate_private_key,
    mint_token,
    private_key_pem,
    public_key_pem,
)
from tests.api.support import API, ApiServer, Keys, new_user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _claims(user: str = "mallory", **extra: object) -> dict[str, object]:
    return {"sub": user, "plan": "VIP", "roles": ["admin"], "exp": int(time.time()) + 600, **extra}


def _hs256_with_public_key(keys: Keys) -> str:
    """The classic confusion attack: HMAC-SHA256 keyed with the server's public key PEM."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    secret = keys.public_path.read_bytes()
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _bad_tokens(keys: Keys) -> dict[str, tuple[str, str]]:
    other = private_key_pem(generate_private_key())
    now = int(time.time())
    return {
        "expired": (mint_token(keys.private_pem, user_id="alice", ttl_s=-10, now=now), "token_expired"),
        "wrongly signed": (mint_token(other, user_id="alice"), "invalid_signature"),
        "alg none": (_unsigned({"alg": "none", "typ": "JWT"}, _claims()), "algorithm_not_allowed"),
        "HS256 with the public key": (_hs256_with_public_key(keys), "algorithm_not_allowed"),
        "garbage": ("not-a-jwt", "malformed_token"),
        "garbage with dots": ("a.b.c", "malformed_token"),
        "tampered claims": (_tamper(mint_token(keys.private_pem, user_id="alice", plan="FREE")), "invalid_signature"),
        "no exp": (jwt.encode({"sub": "alice", "plan": "FREE"}, _private(keys), algorithm="RS256"), "missing_claim"),
        "no sub": (jwt.encode({"exp": now + 60}, _private(keys), algorithm="RS256"), "missing_claim"),
        "unknown plan": (jwt.encode({"sub": "alice", "exp": now + 60, "plan": "GOLD"}, _private(keys),
                                    algorithm="RS256"), "invalid_claim"),
    }


def _private(keys: Keys) -> object:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(keys.private_pem, password=None)


def _tamper(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["plan"] = "VIP"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"


CASES = ["expired", "wrongly signed", "alg none", "HS256 with the public key", "garbage", "garbage with dots",
         "tampered claims", "no exp", "no sub", "unknown plan"]


@pytest.mark.parametrize("case", CASES)
def test_bad_token_is_refused_with_a_json_reason(pg_api: ApiServer, keys: Keys, case: str) -> None:
    token, code = _bad_tokens(keys)[case]
    with pg_api.client(token) as client:
        for method, path in (("GET", f"{API}/tokens"), ("GET", f"{API}/videos"),
                             ("POST", f"{API}/admin/tokens/grant")):
            response = client.request(method, path, json={"user_id": "mallory", "amount": 10**6})
            assert response.status_code == 401, (case, path, response.text)
            assert response.headers["content-type"].startswith("application/json")
            error = response.json()["error"]
            assert error["code"] == code, (case, error)
            assert error["message"]
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_missing_token_and_other_schemes_are_refused(pg_api: ApiServer) -> None:
    with pg_api.client() as client:
        response = client.get(f"{API}/tokens")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_token"
        response = client.get(f"{API}/tokens", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_scheme"
        response = client.get(f"{API}/tokens", headers={"Authorization": "Bearer"})
        assert response.status_code == 401


def test_valid_token_is_accepted_and_its_claims_used(pg_api: ApiServer) -> None:
    user = new_user()
    with pg_api.user_client(user, plan="VIP") as client:
        response = client.get(f"{API}/tokens")
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == user
    assert response.json()["plan"] == "VIP"


def test_admin_route_needs_the_admin_role(pg_api: ApiServer) -> None:
    user = new_user()
    with pg_api.user_client(plan="VIP") as client:
        response = client.post(f"{API}/admin/tokens/grant", json={"user_id": user, "amount": 50})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    with pg_api.user_client(roles=("admin",)) as admin:
        response = admin.post(f"{API}/admin/tokens/grant", json={"user_id": user, "amount": 50, "note": "promo"})
        assert response.status_code == 200, response.text
        assert response.json() == {"user_id": user, "balance": 50, "reserved": 0}
        refused = admin.post(f"{API}/admin/tokens/grant", json={"user_id": "bad\x00user", "amount": 5})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "user_id"
    with pg_api.user_client(user, plan="FREE") as client:
        body = client.get(f"{API}/tokens").json()
    assert body["balance"] == 150  # the grant, then the FREE plan's welcome tokens on the first call
    assert sorted((e["kind"], e["amount"], e["note"]) for e in body["entries"]) == [
        ("grant", 50, "promo"), ("grant", 100, "welcome to the FREE plan")]


# -- the verifier itself ----------------------------------------------------------------------------


def test_jwks_verifier_picks_the_key_by_kid() -> None:
    first, second = generate_private_key(), generate_private_key()

    def jwk(key: object, kid: str) -> dict[str, object]:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[attr-defined]
        return {**data, "kid": kid, "use": "sig", "alg": "RS256"}

    verifier = TokenVerifier.from_jwks(json.dumps({"keys": [jwk(first, "a"), jwk(second, "b")]}))
    token_b = mint_token(private_key_pem(second), user_id="bob", plan="PREMIUM", kid="b")
    assert verifier.verify(token_b).user_id == "bob"
    with pytest.raises(AuthError) as wrong_kid:
        verifier.verify(mint_token(private_key_pem(second), user_id="bob", kid="a"))
    assert wrong_kid.value.code == "invalid_signature"
    with pytest.raises(AuthError) as unknown:
        verifier.verify(mint_token(private_key_pem(second), user_id="bob", kid="zzz"))
    assert unknown.value.code == "unknown_key"


def test_issuer_and_audience_are_checked_when_configured() -> None:
    key = generate_private_key()
    verifier = TokenVerifier.from_pem(public_key_pem(key), issuer="https://id.nexus", audience="nexus-api")
    good = mint_token(private_key_pem(key), user_id="carol", issuer="https://id.nexus", audience="nexus-api")
    assert verifier.verify(good).user_id == "carol"
    for token in (mint_token(private_key_pem(key), user_id="carol", issuer="https://evil", audience="nexus-api"),
                  mint_token(private_key_pem(key), user_id="carol", issuer="https://id.nexus", audience="other")):
        with pytest.raises(AuthError) as refused:
            verifier.verify(token)
        assert refused.value.code in ("invalid_claim", "missing_claim")


def test_dev_keys_are_created_once_and_tokens_from_the_cli_verify(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from nexus_cli.main import main

    monkeypatch.setenv("NEXUS_HOME", str(tmp_path))
    assert main(["dev-token", "--user", "alice", "--plan", "premium", "--role", "admin"]) == 0
    token = capsys.readouterr().out.strip()
    public = (tmp_path / "api" / "dev-jwt-public.pem").read_bytes()
    principal = TokenVerifier.from_pem(public).verify(token)
    assert (principal.user_id, principal.plan.value, principal.is_admin) == ("alice", "PREMIUM", True)
    before = (tmp_path / "api" / "dev-jwt-private.pem").read_bytes()
    assert main(["dev-token", "--user", "bob"]) == 0
    assert (tmp_path / "api" / "dev-jwt-private.pem").read_bytes() == before
