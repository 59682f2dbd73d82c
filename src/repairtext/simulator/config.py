"""How the simulator behaves: the one Twilio account it plays, and how fast and how stubbornly it calls back.

Defaults suit the test suite (callbacks a few hundredths of a second apart, a handful of retries); the demo may
slow callbacks down so a person can watch a message go queued -> sent -> delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A fixed, obviously fake account so `repairtext simulator` and `repairtext demo` work with no settings at all.
DEMO_ACCOUNT_SID = "AC" + "5a" * 16
DEMO_AUTH_TOKEN = "simulator-auth-token"


@dataclass(frozen=True)
class SimulatorConfig:
    twilio_account_sid: str = DEMO_ACCOUNT_SID
    twilio_auth_token: str = field(default=DEMO_AUTH_TOKEN, repr=False)
    # Seconds between accepting a message and each following status callback (sent, then delivered).
    callback_delay: float = 0.05
    # Off: messages stay "queued" until a test moves them with POST /_sim/messages/{id}/status.
    auto_callbacks: bool = True
    # A callback receiver may not be listening yet (the demo starts it after the simulator); retry 5xx and
    # connection errors this many times in all, doubling the pause from callback_retry_delay.
    callback_attempts: int = 6
    callback_retry_delay: float = 0.2
    # Twilio gives a webhook 15 s before it gives up (providers.md).
    webhook_timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings, **overrides) -> SimulatorConfig:
        """Play the account the app is configured with (repairtext.config.Settings), so both sides agree on
        credentials; fall back to the demo account where the app has none."""
        values: dict[str, Any] = dict(
            twilio_account_sid=getattr(settings, "twilio_account_sid", None) or DEMO_ACCOUNT_SID,
            twilio_auth_token=getattr(settings, "twilio_auth_token", None) or DEMO_AUTH_TOKEN,
        )
        values.update(overrides)
        return cls(**values)
