"""The simulator's own HTTP requests to the app (status callbacks, DLRs, inbound webhooks), each recorded.

Status callbacks and DLRs are retried on 5xx and connection errors, since in the demo the receiver may start
after the simulator; inbound webhooks are tried once and the answer handed back to whoever asked for them.
Background deliveries run as asyncio tasks on the server's loop and are cancelled when the app shuts down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from urllib.parse import urlencode

import httpx

from repairtext.adapters.providers.twilio_signature import compute_signature
from repairtext.simulator.config import SimulatorConfig
from repairtext.simulator.records import CallbackRecord
from repairtext.simulator.state import SimulatorState


class Dispatcher:
    def __init__(self, config: SimulatorConfig, state: SimulatorState) -> None:
        self.config, self.state = config, state
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task] = set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.webhook_timeout)
        return self._client

    def spawn(self, work: Coroutine) -> None:
        """Run `work` after the current response; keep a reference so the task is not garbage-collected."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def post_twilio_form(
        self, *, kind: str, message_id: str, status: str | None, url: str, params: list[tuple[str, str]], retry: bool
    ) -> CallbackRecord:
        """A form POST signed the way Twilio signs it: X-Twilio-Signature over the exact URL plus the params."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": compute_signature(self.config.twilio_auth_token, url, params),
            "User-Agent": "TwilioProxy/1.1",
        }
        return await self._post(
            kind, "twilio", message_id, status, url, urlencode(params).encode(), headers, dict(params), retry
        )

    async def post_flowroute_json(
        self, *, kind: str, message_id: str, status: str | None, url: str, document: dict, retry: bool
    ) -> CallbackRecord:
        headers = {"Content-Type": "application/json"}
        return await self._post(
            kind, "flowroute", message_id, status, url, json.dumps(document).encode(), headers, document, retry
        )

    async def _post(self, kind, provider, message_id, status, url, content, headers, payload, retry) -> CallbackRecord:
        attempts = self.config.callback_attempts if retry else 1
        pause = self.config.callback_retry_delay
        for attempt in range(1, attempts + 1):
            http_status, error, text = None, None, ""
            try:
                response = await self._http().post(url, content=content, headers=headers)
                http_status, text = response.status_code, response.text
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if (http_status is not None and http_status < 500) or attempt == attempts:
                break
            await asyncio.sleep(pause)
            pause *= 2
        record = CallbackRecord(
            kind=kind,
            provider=provider,
            message_id=message_id,
            url=url,
            status=status,
            payload=payload,
            http_status=http_status,
            attempts=attempt,
            error=error,
            response_body=text[:2000],
        )
        self.state.record_callback(record)
        return record
