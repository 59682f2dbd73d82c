"""Settings from the environment (see api.md). Read once, passed explicitly: nothing else reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_MEDIA_HOSTS = (
    # Twilio serves media from its API host and redirects to its CDN / S3 buckets.
    "api.twilio.com",
    "media.twiliocdn.com",
    "s3-external-1.amazonaws.com",
    # Flowroute's temporary media links.
    "mms-media-prod.s3.amazonaws.com",
    "mms.flowroute.com",
)


# Only good enough for a machine nobody else reaches; `repairtext serve` refuses to run with it.
INSECURE_DEV_KEY = "repairtext-dev-only"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./var/repairtext.db"
    blob_dir: str = "./var/blobs"
    blob_url: str = ""  # file:PATH or s3://bucket/prefix; empty: file:<blob_dir>
    s3_endpoint_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    flowroute_api_base: str = "https://api.flowroute.com"
    media_hosts: tuple[str, ...] = DEFAULT_MEDIA_HOSTS
    admin_token: str | None = None
    worker: str = "inline"
    # How long a claimed job stays a worker's without its renewing the claim (see services/sending.py).
    job_lease_seconds: float = 60.0
    secret_key: str = field(default="", repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)

        def get(name: str, default):
            return env.get(f"REPAIRTEXT_{name}", default) or default

        hosts = get("MEDIA_HOSTS", None)
        values = dict(
            database_url=get("DATABASE_URL", cls.database_url),
            blob_dir=get("BLOB_DIR", cls.blob_dir),
            blob_url=get("BLOB_URL", ""),
            s3_endpoint_url=get("S3_ENDPOINT_URL", None),
            public_url=get("PUBLIC_URL", cls.public_url).rstrip("/"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID", None),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN", None),
            twilio_api_base=get("TWILIO_API_BASE", cls.twilio_api_base).rstrip("/"),
            flowroute_api_base=get("FLOWROUTE_API_BASE", cls.flowroute_api_base).rstrip("/"),
            media_hosts=tuple(h.strip().lower() for h in hosts.split(",") if h.strip())
            if hosts
            else DEFAULT_MEDIA_HOSTS,
            admin_token=get("ADMIN_TOKEN", None),
            worker=get("WORKER", cls.worker),
            metrics_token=get("METRICS_TOKEN", None),
            log_format=get("LOG_FORMAT", cls.log_format),
            job_lease_seconds=float(get("JOB_LEASE_SECONDS", cls.job_lease_seconds)),
            # Encrypts shop secrets (Flowroute secret key) at rest. Derived from the
            # Twilio token when unset so a single-operator install needs no extra setting.
            secret_key=get("SECRET_KEY", "") or get("TWILIO_AUTH_TOKEN", "") or INSECURE_DEV_KEY,
        )
        values.update(overrides)
        if values["worker"] not in ("inline", "off"):
            raise ValueError("REPAIRTEXT_WORKER must be 'inline' or 'off'")
        if values["log_format"] not in ("text", "json"):
            raise ValueError("REPAIRTEXT_LOG_FORMAT must be 'text' or 'json'")
        return cls(**values)

    @property
    def blob_location(self) -> str:
        return self.blob_url or f"file:{self.blob_dir}"

MIN_SECRET_BYTES = 32
_MAKE_ONE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_serving_secrets(settings: Settings) -> list[str]:
    """What is wrong with the secrets for serving for real (the demo needs none): each a sentence saying what to
    set. A short secret can be guessed offline from one signed or encrypted value."""
    problems = []
    key = settings.secret_key
    if key == INSECURE_DEV_KEY:
        problems.append("set REPAIRTEXT_SECRET_KEY: it encrypts shops' Flowroute secrets and signs the staff pages' "
                        f"cookies; {_MAKE_ONE}")
    elif len(key.encode()) < MIN_SECRET_BYTES:
        source = ("REPAIRTEXT_SECRET_KEY" if key != settings.twilio_auth_token
                  else "REPAIRTEXT_SECRET_KEY (unset, so the Twilio auth token stands in for it)")
        problems.append(f"{source} is {len(key.encode())} bytes; set REPAIRTEXT_SECRET_KEY to at least "
                        f"{MIN_SECRET_BYTES} random bytes; {_MAKE_ONE}")
    token = settings.admin_token
    if token is not None and len(token.encode()) < MIN_SECRET_BYTES:
        problems.append(f"REPAIRTEXT_ADMIN_TOKEN is {len(token.encode())} bytes; use at least {MIN_SECRET_BYTES} "
                        f"random bytes (or unset it to turn the operator endpoints off); {_MAKE_ONE}")
    return problems
