"""Quiet hours: automatic texts wait for the window to open in the recipient's local time.

Texts between 21:00 and 08:00 local time are widely held unwelcome and in some US states unlawful for
marketing; a repair shop's customers are local, so the shop's time zone stands for theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from repairtext.domain.errors import ValidationFailed


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, value: dict | None, field: str = "quiet_hours") -> QuietHours:
        if not value:
            return cls()
        try:
            return cls(time.fromisoformat(value["start"]), time.fromisoformat(value["end"]))
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed.on(field, 'expected {"start": "HH:MM", "end": "HH:MM"}') from None

    def as_dict(self) -> dict:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    def _is_quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False  # an empty window: the shop turned quiet hours off
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_send_time(self, now: datetime, time_zone: str) -> datetime:
        """`now` if texting is fine now, else when the quiet window ends (as an aware datetime)."""
        zone = ZoneInfo(time_zone)
        local = now.astimezone(zone)
        if not self._is_quiet(local.timetz().replace(tzinfo=None)):
            return now
        opens = datetime.combine(local.date(), self.end, tzinfo=zone)
        if opens <= local:
            opens = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return opens
