"""Signing people in through the district's identity provider (the residents' portal and the
staff console): OpenID Connect, the authorization code flow with PKCE (S256), ``state`` and
``nonce`` checked, the ID token's signature checked against the provider's JWKS and its issuer,
audience, expiry and nonce.

Settings (nameko config or environment): ``OIDC_ISSUER`` (unset: the portal offers the phone
code only, the console passwords only), ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` (sent with
HTTP basic auth to the token endpoint), ``OIDC_SCOPES`` (default ``openid profile phone``),
``OIDC_ID_NUMBER_CLAIM`` (the claim carrying the resident ID number, default ``id_number``),
``OIDC_REDIRECT_URL`` / ``OIDC_CONSOLE_REDIRECT_URL`` (default: this host's
``/login/oidc/callback`` and ``/console/login/oidc/callback``; set them behind a proxy).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests
from nameko.extensions import DependencyProvider

from services.common.config import option

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")   # asymmetric only: never "none" or HS*
TIMEOUT = 5.0
LEEWAY = 30          # seconds of clock difference allowed with the provider


class OidcFailed(Exception):
    """The sign-in did not complete; the words are for the resident's page (details are logged)."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    id_number_claim: str
    redirect_url: str
    console_redirect_url: str


def settings_of(config: dict) -> OidcSettings | None:
    issuer = str(option(config, "OIDC_ISSUER", "")).rstrip("/")
    if not issuer:
        return None
    client_id = str(option(config, "OIDC_CLIENT_ID", ""))
    if not client_id:
        raise SystemExit("OIDC_ISSUER is set: OIDC_CLIENT_ID is needed too")
    return OidcSettings(issuer, client_id, str(option(config, "OIDC_CLIENT_SECRET", "")),
                        str(option(config, "OIDC_SCOPES", "openid profile phone")),
                        str(option(config, "OIDC_ID_NUMBER_CLAIM", "id_number")),
                        str(option(config, "OIDC_REDIRECT_URL", "")),
                        str(option(config, "OIDC_CONSOLE_REDIRECT_URL", "")))


@dataclass(frozen=True)
class Attempt:
    """What one sign-in keeps in the browser (signed) between leaving and coming back."""
    state: str
    nonce: str
    verifier: str

    @staticmethod
    def new() -> "Attempt":
        return Attempt(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def text(self) -> str:
        return f"{self.state}~{self.nonce}~{self.verifier}"

    @staticmethod
    def of(text: str | None) -> "Attempt | None":
        parts = (text or "").split("~")
        return Attempt(*parts) if len(parts) == 3 and all(parts) else None

    def matches(self, state: str | None) -> bool:
        return bool(state) and hmac.compare_digest(self.state, str(state))


class IdentityProvider:
    """One provider: its discovery document and keys (read once, keys refreshed by PyJWT's
    client when a token names a key it has not seen)."""

    def __init__(self, settings: OidcSettings):
        self.settings = settings
        self._meta: dict | None = None
        self._keys: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def meta(self) -> dict:
        with self._lock:
            if self._meta is None:
                url = self.settings.issuer + "/.well-known/openid-configuration"
                try:
                    answer = requests.get(url, timeout=TIMEOUT)
                    answer.raise_for_status()
                    meta = answer.json()
                except (requests.RequestException, ValueError) as exc:
                    log.warning("OIDC discovery at %s failed: %s", url, exc)
                    raise OidcFailed("统一身份认证暂时无法访问，请稍后再试，或使用手机验证码登录") from None
                if meta.get("issuer", "").rstrip("/") != self.settings.issuer:
                    log.error("OIDC discovery names issuer %r, configured %r", meta.get("issuer"), self.settings.issuer)
                    raise OidcFailed("统一身份认证配置有误，请使用手机验证码登录")
                self._meta = meta
                self._keys = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=True, timeout=int(TIMEOUT))
            return self._meta

    def authorization_url(self, attempt: Attempt, redirect_uri: str) -> str:
        query = {"response_type": "code", "client_id": self.settings.client_id, "redirect_uri": redirect_uri,
                 "scope": self.settings.scopes, "state": attempt.state, "nonce": attempt.nonce,
                 "code_challenge": attempt.challenge, "code_challenge_method": "S256"}
        return self.meta()["authorization_endpoint"] + "?" + urlencode(query)

    def answer(self, attempt_text: str | None, args, redirect_uri: str) -> dict:
        """The checked claims of the provider's answer at the callback (``args``: its query), the
        attempt being what this browser kept when it left; OidcFailed says why not."""
        attempt = Attempt.of(attempt_text)
        if attempt is None or not attempt.matches(args.get("state")):
            raise OidcFailed("登录请求已失效或来源不明，请重新登录。")
        if args.get("error") or not args.get("code"):
            raise OidcFailed("统一身份认证没有完成登录，请重新登录。")
        return self.identity(args["code"], attempt, redirect_uri)

    def identity(self, code: str, attempt: Attempt, redirect_uri: str) -> dict:
        """Exchange the code and check the ID token: its claims."""
        meta = self.meta()
        try:
            answer = requests.post(meta["token_endpoint"], timeout=TIMEOUT,
                                   auth=(self.settings.client_id, self.settings.client_secret),
                                   data={"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": redirect_uri, "code_verifier": attempt.verifier})
        except requests.RequestException as exc:
            log.warning("OIDC token request failed: %s", exc)
            raise OidcFailed("统一身份认证暂时无法访问，请稍后再试") from None
        if answer.status_code != 200:
            log.info("OIDC token endpoint refused the code: %s %s", answer.status_code, answer.text[:200])
            raise OidcFailed("登录已失效或被拒绝，请重新登录")
        try:
            token = answer.json().get("id_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            raise OidcFailed("统一身份认证没有返回身份信息，请重新登录")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=list(ALGORITHMS), audience=self.settings.client_id,
                                issuer=meta["issuer"], leeway=LEEWAY,
                                options={"require": ["exp", "iat", "sub", "iss", "aud", "nonce"]})
        except jwt.PyJWTError as exc:
            log.warning("OIDC ID token refused: %s: %s", type(exc).__name__, exc)
            raise OidcFailed("身份信息校验未通过，请重新登录") from None
        if not hmac.compare_digest(str(claims.get("nonce")), attempt.nonce):
            log.warning("OIDC ID token with another nonce")
            raise OidcFailed("身份信息校验未通过，请重新登录")
        return claims


class Oidc(DependencyProvider):
    """Gives workers the configured ``IdentityProvider``, or None when none is configured."""

    def setup(self):
        settings = settings_of(self.container.config)
        self.provider = IdentityProvider(settings) if settings else None

    def get_dependency(self, worker_ctx):
        return self.provider
