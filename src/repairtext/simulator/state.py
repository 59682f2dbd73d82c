"""Everything the simulator knows, in memory, behind one lock.

The ASGI app runs on uvicorn's event-loop thread while tests and the demo read the same object from theirs, so
every read and write goes through a method that holds the lock; `reset()` empties it all between tests.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from repairtext.simulator.records import (
    FINAL_STATUSES,
    NOT_SENT_YET,
    CallbackRecord,
    Fault,
    FlowrouteAccount,
    MediaItem,
    SimMessage,
    TwilioNumber,
    utcnow,
)


class SimulatorState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._messages: dict[str, SimMessage] = {}
            self._callbacks: list[CallbackRecord] = []
            self._twilio_numbers: dict[str, TwilioNumber] = {}
            self._flowroute_accounts: dict[str, FlowrouteAccount] = {}
            self._optouts: set[tuple[str, str]] = set()
            self._faults: list[Fault] = []
            self._media: dict[str, MediaItem] = {}

    # Outbound messages -------------------------------------------------------------------------------------

    def add_message(self, message: SimMessage) -> None:
        with self._lock:
            self._messages[message.id] = message

    def message(self, message_id: str) -> SimMessage | None:
        with self._lock:
            found = self._messages.get(message_id)
            return replace(found) if found else None

    def messages(self, provider: str | None = None, *, inbound: bool = False) -> list[SimMessage]:
        """In the order they were accepted; outbound only unless `inbound`."""
        with self._lock:
            return [replace(m) for m in self._messages.values()
                    if provider in (None, m.provider) and (inbound or m.direction != "inbound")]

    def move_status(self, message_id: str, status: str, error_code: int | None = None) -> SimMessage | None:
        """Record a status the provider reported; a final status is never left (callbacks may still repeat)."""
        with self._lock:
            found = self._messages.get(message_id)
            if found is None:
                return None
            if found.status not in FINAL_STATUSES:
                found.status, found.error_code, found.updated_at = status, error_code, utcnow()
                found.history = [*found.history, (status, error_code, found.updated_at)]
                if found.sent_at is None and status not in NOT_SENT_YET:
                    found.sent_at = found.updated_at
            return replace(found)

    # Callbacks we made -------------------------------------------------------------------------------------

    def record_callback(self, record: CallbackRecord) -> None:
        with self._lock:
            self._callbacks.append(record)

    def callbacks(self) -> list[CallbackRecord]:
        with self._lock:
            return list(self._callbacks)

    # Provider-side configuration ---------------------------------------------------------------------------

    def set_twilio_number(self, number: TwilioNumber) -> None:
        with self._lock:
            self._twilio_numbers[number.number] = number

    def twilio_number(self, number: str) -> TwilioNumber | None:
        with self._lock:
            return self._twilio_numbers.get(number)

    def set_flowroute_account(self, account: FlowrouteAccount) -> None:
        with self._lock:
            self._flowroute_accounts[account.access_key] = account

    def flowroute_account(self, access_key: str) -> FlowrouteAccount | None:
        with self._lock:
            return self._flowroute_accounts.get(access_key)

    def flowroute_account_for_number(self, number: str) -> FlowrouteAccount | None:
        with self._lock:
            return next((a for a in self._flowroute_accounts.values() if number in a.numbers), None)

    def set_opted_out(self, shop_number: str, customer_number: str, opted_out: bool = True) -> None:
        with self._lock:
            pair = (shop_number, customer_number)
            if opted_out:
                self._optouts.add(pair)
            else:
                self._optouts.discard(pair)

    def is_opted_out(self, shop_number: str, customer_number: str) -> bool:
        with self._lock:
            return (shop_number, customer_number) in self._optouts

    # Faults ------------------------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, provider: str, on: str = "send") -> Fault | None:
        """The fault this request must suffer, if any; each one is used up after `count` requests."""
        with self._lock:
            for fault in self._faults:
                if fault.provider == provider and fault.on == on and fault.count > 0:
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    taken = replace(fault)
                    self._faults = [f for f in self._faults if f.count > 0]
                    return taken
            return None

    # Inbound media -----------------------------------------------------------------------------------------

    def add_media(self, item: MediaItem) -> None:
        with self._lock:
            self._media[item.id] = item

    def take_media(self, media_id: str) -> tuple[MediaItem | None, bool]:
        """(the item, whether it is ready); each request while not ready uses up one of its fail_first."""
        with self._lock:
            item = self._media.get(media_id)
            if item is None:
                return None, False
            if item.fail_first > 0:
                item.fail_first -= 1
                return item, False
            return item, True
