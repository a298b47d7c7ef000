"""Configuration from environment variables, with defaults that run the suite on one machine.

Every variable the suite reads is listed here (and in the README), so one place answers
"what can I set?".
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

SERVICES = ("community", "library", "elearning")
HEALTH_PORTS = {"community": 8001, "library": 8002, "elearning": 8003}
DEFAULT_DISTRICT_CODE = "310115"   # the demo district (浦东新区), GB/T 2260


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    mongo_uri: str                 # empty: the local runner starts the embedded store
    embedded_mongo_port: int
    db_prefix: str                 # each service's database is <prefix>_<service>
    var_dir: str
    gateway_host: str
    gateway_port: int
    health_ports: dict[str, int] = field(default_factory=dict)
    rpc_timeout: float = 5.0
    store_timeout_ms: int = 2000
    event_max_retries: int = 3
    event_retry_backoff: float = 0.2
    outbox_interval: float = 1.0
    log_level: str = "INFO"
    log_format: str = "json"
    jwt_secret: str = ""
    jwt_issuer: str = "suite-dev"
    jwt_audience: str = "smart-community-suite"
    jwt_jwks_file: str = ""
    jwt_jwks_url: str = ""
    import_max_bytes: int = 1 << 30  # `suite import` refuses larger files (split them or raise it)
    queue_type: str = "classic"    # quorum in a cluster whose vhost defaults to quorum (infra/README.md)
    district_code: str = DEFAULT_DISTRICT_CODE
    linked_districts: dict[str, str] = field(default_factory=dict)   # code -> the other district's AMQP URI

    @property
    def effective_mongo_uri(self) -> str:
        return self.mongo_uri or f"mongodb://127.0.0.1:{self.embedded_mongo_port}/"

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"


def load() -> Settings:
    settings = _load()
    if settings.district_code in settings.linked_districts:
        raise SystemExit(f"LINKED_DISTRICTS names this district itself ({settings.district_code}, DISTRICT_CODE)")
    return settings


def _load() -> Settings:
    return Settings(
        amqp_uri=_env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        mongo_uri=os.environ.get("MONGO_URI", "").strip(),
        embedded_mongo_port=_int("EMBEDDED_MONGO_PORT", 27017),
        db_prefix=_env("SUITE_DB_PREFIX", "suite"),
        var_dir=os.path.abspath(_env("SUITE_VAR_DIR", "var")),
        gateway_host=_env("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_int("GATEWAY_PORT", 8000),
        health_ports={s: _int(f"{s.upper()}_PORT", p) for s, p in HEALTH_PORTS.items()},
        rpc_timeout=_float("RPC_TIMEOUT", 5.0),
        store_timeout_ms=_int("STORE_TIMEOUT_MS", 2000),
        event_max_retries=_int("EVENT_MAX_RETRIES", 3),
        event_retry_backoff=_float("EVENT_RETRY_BACKOFF", 0.2),
        outbox_interval=_float("OUTBOX_INTERVAL", 1.0),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        log_format=_env("LOG_FORMAT", "json"),
        jwt_secret=os.environ.get("JWT_SECRET", ""),
        jwt_issuer=_env("JWT_ISSUER", "suite-dev"),
        jwt_audience=_env("JWT_AUDIENCE", "smart-community-suite"),
        jwt_jwks_file=os.environ.get("JWT_JWKS_FILE", "").strip(),
        jwt_jwks_url=os.environ.get("JWT_JWKS_URL", "").strip(),
        import_max_bytes=_int("SUITE_IMPORT_MAX_BYTES", 1 << 30),
        queue_type=_env("QUEUE_TYPE", "classic").lower(),
        district_code=_env("DISTRICT_CODE", DEFAULT_DISTRICT_CODE),
        linked_districts=linked_districts(os.environ.get("LINKED_DISTRICTS")),
    )


def linked_districts(raw: str | None) -> dict[str, str]:
    """``LINKED_DISTRICTS`` (``310104=amqp://user:pass@host/vhost,310105=amqp://...``): the
    districts cases are handed on to and taken from, each with the broker (and vhost) the
    shovel carries them to (docs/ARCHITECTURE.md, "Across districts")."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (raw or "").split(","))):
        code, sep, uri = part.partition("=")
        code, uri = code.strip(), uri.strip()
        if not sep or not (len(code) == 6 and code.isdigit()) or not uri.startswith(("amqp://", "amqps://")):
            raise SystemExit(f"LINKED_DISTRICTS: {part.split('@')[-1]!r} is not CODE=amqp://... "
                             "(a six-digit district code and the other district's broker URI)")
        out[code] = uri
    return out


def option(config: dict, name: str, default):
    """A setting from a container's nameko config, else the environment, else ``default``:
    settings read inside a service process work both under `suite up` and under a test's config."""
    value = config.get(name)
    if value is None or value == "":
        value = os.environ.get(name, "").strip() or default
    return value


def flag(value, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def nameko_config(settings: Settings, service: str, web_port: int | None = None) -> dict:
    """The config dict a service container runs with (``nameko run --config``)."""
    from services.common.logs import logging_config

    port = web_port if web_port is not None else settings.health_ports.get(service, settings.gateway_port)
    host = settings.gateway_host
    return {
        "AMQP_URI": settings.amqp_uri,
        "WEB_SERVER_ADDRESS": f"{host}:{port}",
        "MONGO_URI": settings.effective_mongo_uri,
        "DB_PREFIX": settings.db_prefix,
        "STORE_TIMEOUT_MS": settings.store_timeout_ms,
        "EVENT_MAX_RETRIES": settings.event_max_retries,
        "EVENT_RETRY_BACKOFF": settings.event_retry_backoff,
        "OUTBOX_INTERVAL": settings.outbox_interval,
        "RPC_TIMEOUT": settings.rpc_timeout,
        "AUTO_DELETE_EVENT_EXCHANGES": False,
        "max_workers": 10,
        "LOGGING": logging_config(settings.log_level, settings.log_format),
        **({"SIP2_PORT": _int("SIP2_PORT", 6001),
            # digital resources: the largest file taken, and where readers reach /digital/v1/ on this port
            "DIGITAL_MAX_BYTES": _int("DIGITAL_MAX_BYTES", 64 * 1024 * 1024),
            "LIBRARY_PUBLIC_URL": os.environ.get("LIBRARY_PUBLIC_URL", "").strip()} if service == "library" else {}),
        **({"DISTRICT_CODE": settings.district_code,
            "LINKED_DISTRICTS": ",".join(f"{c}={u}" for c, u in settings.linked_districts.items())}
           if service == "community" else {}),
        **({"LEARNER_ERASURE": _env("LEARNER_ERASURE", "false"),
            "PAYMENT_PROVIDER_KEY": os.environ.get("PAYMENT_PROVIDER_KEY", "").strip()}
           if service == "elearning" else {}),
    }


def gateway_config(settings: Settings) -> dict:
    cfg = nameko_config(settings, "gateway", web_port=settings.gateway_port)
    cfg.update({"JWT_ISSUER": settings.jwt_issuer, "JWT_AUDIENCE": settings.jwt_audience})
    return cfg
