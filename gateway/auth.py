"""Who is asking: bearer JWTs (HS256 here; issuer, audience and key are configuration).

In production residents' tokens come from the identity provider; locally ``suite token``
mints development tokens with the same key the gateway checks.
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from nameko.extensions import DependencyProvider

from services.common import config

log = logging.getLogger(__name__)

# staff: a committee clerk (their token names the committee); librarian: the library network's
# staff, bound to the whole network (services/community/staff.py says why), never to residents' cases;
# centre: a sub-district centre's clerk, supervisor: electronic supervision, of one sub-district (the
# token names it) or, naming none, of the district; editor: a library or learning editor (popular
# science), whose GraphQL is the public part only (its work is in the console)
ROLES = ("resident", "guardian", "staff", "librarian", "centre", "supervisor", "editor", "admin")
ALGORITHM = "HS256"
DEV_TOKEN_SECONDS = 12 * 3600


class Unauthenticated(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    committee: str | None = None
    subdistrict: str | None = None


@dataclass(frozen=True)
class TokenConfig:
    """Shared-secret HS256 (the local runner), or an identity provider's public keys (JWKS
    from a file or a URL) with the asymmetric algorithms it signs with."""

    key: str
    issuer: str
    audience: str
    jwks: jwt.PyJWKSet | None = None
    jwks_client: jwt.PyJWKClient | None = None
    algorithms: tuple[str, ...] = (ALGORITHM,)


ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")


def with_identity_provider(tokens: TokenConfig, jwks_file: str | None, jwks_url: str | None) -> TokenConfig:
    if jwks_file:
        keys = jwt.PyJWKSet.from_json(Path(jwks_file).read_text(encoding="utf-8"))
        return TokenConfig(tokens.key, tokens.issuer, tokens.audience, jwks=keys, algorithms=ASYMMETRIC)
    if jwks_url:
        client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=5)
        return TokenConfig(tokens.key, tokens.issuer, tokens.audience, jwks_client=client, algorithms=ASYMMETRIC)
    return tokens


def _signing_key(tokens: TokenConfig, token: str):
    if tokens.jwks is not None:
        kid = jwt.get_unverified_header(token).get("kid")
        for key in tokens.jwks.keys:
            if key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError(f"no key {kid!r} in the identity provider's key set")
    if tokens.jwks_client is not None:
        return tokens.jwks_client.get_signing_key_from_jwt(token).key
    return tokens.key


def token_config(settings: config.Settings) -> TokenConfig:
    """``JWT_SECRET``, or a development key kept in the var folder (made on first use)."""
    key = settings.jwt_secret
    if not key:
        path = Path(settings.var_dir) / "jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        key = path.read_text().strip()
    return TokenConfig(key=key, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


def mint(tokens: TokenConfig, role: str, subject: str, committee: str | None = None,
         lifetime: int = DEV_TOKEN_SECONDS, subdistrict: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"sub": subject, "role": role, "iss": tokens.issuer, "aud": tokens.audience,
              "iat": now, "nbf": now, "exp": now + lifetime, "jti": secrets.token_hex(8)}
    if committee:
        claims["committee"] = committee
    if subdistrict:
        claims["subdistrict"] = subdistrict
    return jwt.encode(claims, tokens.key, algorithm=ALGORITHM)


def verify(tokens: TokenConfig, authorization: str | None) -> Principal | None:
    """The principal of an ``Authorization: Bearer`` header; None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("expected 'Authorization: Bearer <token>'")
    try:
        claims = jwt.decode(token, _signing_key(tokens, token), algorithms=list(tokens.algorithms),
                            audience=tokens.audience, issuer=tokens.issuer,
                            options={"require": ["exp", "sub", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        log.info("token refused: %s: %s", type(exc).__name__, exc)   # the library's words, for operators
        raise Unauthenticated(refusal(exc)) from None
    if claims.get("role") not in ROLES:
        raise Unauthenticated(f"the token names no role of this suite ({', '.join(ROLES)})")
    return Principal(subject=str(claims["sub"]), role=claims["role"], committee=claims.get("committee"),
                     subdistrict=claims.get("subdistrict"))


def refusal(exc: jwt.PyJWTError) -> str:
    """Why a token is refused, in words for the caller (PyJWT's own name decoding details)."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the token has expired: sign in again"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "the token is not valid yet"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "the token is meant for another audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "the token comes from an issuer this gateway does not trust"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the '{exc.claim}' claim"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "the token is signed with an algorithm this gateway does not accept"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the token's signature does not verify: it was not issued for this gateway, or was changed"
    if isinstance(exc, jwt.PyJWKClientError):
        return "the identity provider's keys could not be read: try again later"
    if isinstance(exc, jwt.DecodeError):
        return "the token is malformed: expected a JWT of three base64url parts"
    return "the token is not valid"


class Authenticator(DependencyProvider):
    """Resolves the key once at start-up; each worker gets ``verify(authorization)``."""

    def setup(self):
        settings = config.load()
        cfg = self.container.config
        if cfg.get("JWT_SECRET"):
            tokens = TokenConfig(cfg["JWT_SECRET"], cfg.get("JWT_ISSUER", settings.jwt_issuer),
                                 cfg.get("JWT_AUDIENCE", settings.jwt_audience))
        else:
            tokens = token_config(settings)
        self.tokens = with_identity_provider(tokens, cfg.get("JWT_JWKS_FILE") or settings.jwt_jwks_file,
                                             cfg.get("JWT_JWKS_URL") or settings.jwt_jwks_url)

    def get_dependency(self, worker_ctx):
        return lambda authorization: verify(self.tokens, authorization)
