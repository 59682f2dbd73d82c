"""How many failed attempts a client gets before it must wait, and for how long.

A sliding window over failures only: each failure counts for `window` after it happened; once `failures` of them
are counting, the next attempt is refused (even with the right key, so a blocked guesser learns nothing) until
the oldest one stops counting. Refused attempts are not counted, so waiting always ends the block. Successes
are never counted: a busy shop using its key correctly is never slowed down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    name: str  # names the bucket in storage; also says what is limited in logs
    failures: int
    window: timedelta

    def bucket(self, subject: str) -> str:
        return f"{self.name}:{subject[:80]}"  # fits the column whatever a proxy passes on as the address

    def retry_after(self, counting: int, oldest_expiry: datetime | None, now: datetime) -> int | None:
        """Seconds to wait, given how many failures still count and when the oldest of them stops counting;
        None when the attempt may go ahead."""
        if counting < self.failures or oldest_expiry is None:
            return None
        return max(1, math.ceil((oldest_expiry - now).total_seconds()))


# Sign-in to the staff pages (today with the shop's API key): api.md's 10 failures within 15 minutes for one
# identity, and a looser one per client address so one address cannot try many identities.
SIGN_IN_IDENTITY = Limit("sign-in", 10, timedelta(minutes=15))
SIGN_IN_ADDRESS = Limit("sign-in-ip", 30, timedelta(minutes=15))
# Wrong `Authorization: Bearer` keys on the API, per client address.
API_KEY_ADDRESS = Limit("api-key-ip", 20, timedelta(minutes=5))
# Wrong operator tokens on /api/v1/admin, per client address.
ADMIN_TOKEN_ADDRESS = Limit("admin-ip", 10, timedelta(minutes=15))
# Portal links that lead nowhere, per client address (a mistyped link is rare; a scan is thousands).
PORTAL_TOKEN_ADDRESS = Limit("portal-ip", 30, timedelta(minutes=5))


class TooManyAttempts(Exception):
    def __init__(self, limit: Limit, retry_after: int):
        self.limit, self.retry_after = limit, retry_after
        minutes = math.ceil(retry_after / 60)
        self.wait = f"in {minutes} minute{'s' if minutes != 1 else ''}"
        super().__init__(f"too many failed attempts; try again {self.wait}")
