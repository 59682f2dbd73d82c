"""A local Twilio + Flowroute: the providers' real wire protocols over real HTTP, for the demo and the tests.

Like httpx's MockTransport, the fake sits at the very edge: repairtext's provider adapters make their ordinary
HTTP calls (REPAIRTEXT_TWILIO_API_BASE and REPAIRTEXT_FLOWROUTE_API_BASE both point at `SimulatorServer.url`)
and receive signed callbacks and webhooks exactly as from the real services (see providers.md).

    sim = SimulatorServer(SimulatorConfig(twilio_account_sid=..., twilio_auth_token=...), port=0).start()
    sim.url; sim.state; sim.app; sim.stop()          # or: with SimulatorServer(cfg) as sim: ...
    serve(port, host="127.0.0.1", config=None)        # blocking, for `repairtext simulator`

Provider APIs
    POST /2010-04-01/Accounts/{sid}/Messages.json       Twilio send (Basic sid:token; form To, From, Body,
                                                        MediaUrl*, StatusCallback) -> 201 Message resource
    GET  /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json    fetch one
    GET  /2010-04-01/Accounts/{sid}/Messages.json?To=&From=&DateSent[<>]=&PageSize=&PageToken=   list (inbound
                                                        too), newest first, Twilio's paging shape; DateSent* match
                                                        date_sent (null while queued), as dates or ISO datetimes
    GET  /2010-04-01/Accounts/{sid}/Messages/{MMsid}/Media/{MEsid}   inbound media bytes (Basic auth required)
    POST /v2.1/messages                                 Flowroute send (Basic access:secret; JSON:API) -> 202
    GET  /v2.1/messages/{mdr2-id}                       look up one MDR
    GET  /v2.1/messages?start_date=&end_date=&limit=&offset=   list MDRs (both ways, with delivery_receipts)
                                                        {"data": [...], "links": {"next"}}, limit at most 200
    GET  /flowroute-media/{id}/{file_name}              inbound media bytes (no auth, like Flowroute's links)

After accepting a message (and unless auto_callbacks is off) the simulator reports, callback_delay apart:
Twilio `sent` then `delivered` to StatusCallback (form, X-Twilio-Signature, RawDlrDoneDate on final ones);
Flowroute "message buffered" then "delivered" to dlr_callback (or the account's dlr_callback_url), as
`delivery_receipt` documents. 5xx answers and connection errors are retried. Inbound messages are kept too, so
they can be fetched and listed like the providers' own.

Control API (JSON in and out; 400/404 {"error": reason} when a request cannot be played)
    GET  /_sim/health                      {"ok": true, "twilio_account_sid"}
    POST /_sim/reset                       forget messages, callbacks, numbers, accounts, opt-outs, faults, media
    GET  /_sim/messages?provider=twilio|flowroute   accepted outbound messages in order: provider, id, from, to,
                                           body, media_urls, status_callback, created_at, status, error_code,
                                           num_segments
    GET  /_sim/callbacks?message_id=&kind=status|dlr|inbound   every request the simulator made to the app:
                                           kind, provider, message_id, url, status, payload, http_status (null:
                                           no answer), attempts, error, response_body, at
    POST /_sim/twilio/numbers {"number", "sms_url", "line_type": "mobile"|"landline"}   a number on the Twilio
                                           account (shop number with its SMS URL, or a customer's landline -> 21614)
    POST /_sim/flowroute/accounts {"access_key", "secret_key", "numbers": ["1206…"], "sms_callback_url",
                                           "dlr_callback_url"?}
    POST /_sim/optouts {"from": shop number, "to": customer number, "opted_out": true}   Twilio answers 21610
                                           for the pair (an inbound STOP sets it, START clears it, as Twilio does)
    POST /_sim/twilio/inbound {"from", "to", "body", "media": [{"content_type", "data_base64", "fail_first"}],
                               "from_country"?, "from_state"?, "from_city"?, "from_zip"?, "message_sid"?}
    POST /_sim/flowroute/inbound {"from", "to", "body", "media": [...], "id"?}
                                           -> {"sid", "status_code", "response_body", "error", "elapsed_ms",
                                           "media_urls"}; one attempt, signed (Twilio); fail_first: N makes that
                                           media URL answer 404 N times before it serves the bytes
    POST /_sim/faults {"provider", "kind", "status", "code", "retry_after", "count", "delay", "on", "skip"}
                                           the next `count` requests `on` send (default), list or fetch, after
                                           `skip` let through: http_status (that status, error in the provider's
                                           shape, Retry-After on 429: seconds, or a string sent as is),
                                           timeout_before_accept (sleep `delay`, answer 503, record nothing),
                                           accept_then_timeout (record and deliver, then sleep `delay` before
                                           answering), twilio_error (400 `code`); drop_callbacks: the next `count`
                                           status callbacks / DLRs are not posted (the status still moves),
                                           slow_lookup: the next `count` Twilio message lists answer what was
                                           true when they came in, `delay` seconds late;
                                           undelivered: the next `count` accepted messages are reported `sent`
                                           then `undelivered` (Flowroute: "failed") with error `code` (30003)
    POST /_sim/messages/{id}/status {"status", "error_code"?}   one more status callback / DLR for that message,
                                           whatever its status (duplicates, out of order) -> {"message", "callback"}
"""

from repairtext.simulator.app import create_app
from repairtext.simulator.config import SimulatorConfig
from repairtext.simulator.server import SimulatorServer, serve
from repairtext.simulator.state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorServer", "SimulatorState", "create_app", "serve"]
