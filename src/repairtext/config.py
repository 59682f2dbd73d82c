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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)

        def get(name: str, default):
            return env.get(f"REPAIRTEXT_{name}", default) or default

        hosts = get("MEDIA_HOSTS", None)
        values = dict(
            database_url=get("DATABASE_URL", cls.database_url),
            blob_dir=get("BLOB_DIR", cls.blob_dir),
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
            job_lease_seconds=float(get("JOB_LEASE_SECONDS", cls.job_lease_seconds)),
            # Encrypts shop secrets (Flowroute secret key) at rest. Derived from the
            # Twilio token when unset so a single-operator install needs no extra setting.
            secret_key=get("SECRET_KEY", "") or get("TWILIO_AUTH_TOKEN", "") or INSECURE_DEV_KEY,
        )
        values.update(overrides)
        if values["worker"] not in ("inline", "off"):
            raise ValueError("REPAIRTEXT_WORKER must be 'inline' or 'off'")
        return cls(**values)
