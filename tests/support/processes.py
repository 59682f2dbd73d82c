"""Real `repairtext worker` processes for tests: the environment that points one at the test's database,
simulator and live server."""

from __future__ import annotations

import os


def worker_env(settings, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "REPAIRTEXT_DATABASE_URL": settings.database_url, "REPAIRTEXT_BLOB_DIR": settings.blob_dir,
        "REPAIRTEXT_PUBLIC_URL": settings.public_url, "REPAIRTEXT_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "REPAIRTEXT_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "REPAIRTEXT_TWILIO_API_BASE": settings.twilio_api_base, "REPAIRTEXT_FLOWROUTE_API_BASE": settings.flowroute_api_base,
        "REPAIRTEXT_SECRET_KEY": settings.secret_key, "REPAIRTEXT_WORKER": "off", **extra,
    })
    return env
