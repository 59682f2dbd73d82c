"""Twilio's wire shapes: the Message resource, its errors, what a send must satisfy, and the forms it posts.

Field names and error codes follow https://www.twilio.com/docs/messaging/api/message-resource and
https://www.twilio.com/docs/errors (summarised in providers.md).
"""

from __future__ import annotations

from email.utils import format_datetime

from starlette.datastructures import FormData, UploadFile
from starlette.responses import JSONResponse

from repairtext.simulator import carrier
from repairtext.simulator.records import SimMessage, utcnow
from repairtext.simulator.state import SimulatorState

API_VERSION = "2010-04-01"
MAX_BODY = 1600
MAX_MEDIA = 10


class TwilioError(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def error_response(error: TwilioError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "code": error.code,
        "message": error.message,
        "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
        "status": error.status,
    }
    return JSONResponse(body, status_code=error.status, headers=headers)


def rfc2822(moment) -> str | None:
    return format_datetime(moment) if moment else None


def messages_uri(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages"


def message_resource(message: SimMessage) -> dict:
    uri = f"{messages_uri(message.account)}/{message.id}"
    return {
        "account_sid": message.account,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.created_at),
        "date_sent": rfc2822(message.sent_at),
        "date_updated": rfc2822(message.updated_at),
        "direction": "inbound" if message.direction == "inbound" else "outbound-api",
        "error_code": message.error_code,
        "error_message": None if message.error_code is None else f"Error {message.error_code}",
        "from": message.from_,
        "messaging_service_sid": None,
        "num_media": str(len(message.media_urls)),
        "num_segments": str(message.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": message.id,
        "status": message.status,
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": message.to,
        "uri": f"{uri}.json",
    }


def form_text(form: FormData, name: str) -> str:
    """A text field of the send form ("" when absent). Twilio's API takes form fields, not files: a file
    part where text belongs counts as absent."""
    value = form.get(name, "")
    return "" if isinstance(value, UploadFile) else value


def form_texts(form: FormData, name: str) -> list[str]:
    """Every value of a repeated text field (MediaUrl), file parts left out as in form_text."""
    return [value for value in form.getlist(name) if not isinstance(value, UploadFile)]


def check_send(form: FormData, state: SimulatorState) -> None:
    """Raise the TwilioError the real API would answer for this send, checked in the same spirit."""
    to, from_, body = form_text(form, "To"), form_text(form, "From"), form_text(form, "Body")
    media = form_texts(form, "MediaUrl")
    if not to:
        raise TwilioError(21604, "A 'To' phone number is required.")
    if not from_:
        raise TwilioError(21603, "A 'From' phone number is required.")
    if not body and not media:
        raise TwilioError(21602, "Message body is required.")
    if not carrier.E164.match(to):
        raise TwilioError(21211, f"Invalid 'To' Phone Number: {to}")
    if not carrier.E164.match(from_):
        raise TwilioError(21212, f"Invalid From Number (caller ID): {from_}")
    callback = form_text(form, "StatusCallback")
    if callback and not callback.startswith(("http://", "https://")):
        raise TwilioError(21609, f"Invalid StatusCallback url: {callback}")
    if len(body) > MAX_BODY:
        raise TwilioError(21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media) > MAX_MEDIA:
        raise TwilioError(21623, "Number of media files exceeds allowed limit.")
    if media and not carrier.is_north_american(to):
        raise TwilioError(
            21408, f"Permission to send an MMS has not been enabled for the region indicated by the 'To' number: {to}"
        )
    registered = state.twilio_number(to)
    if registered and registered.line_type == "landline":
        raise TwilioError(21614, f"'To' number {to} is not a valid mobile number")
    if state.is_opted_out(from_, to):
        raise TwilioError(21610, "Attempt to send to unsubscribed recipient")


def status_params(message: SimMessage, status: str, error_code: int | None) -> list[tuple[str, str]]:
    params = [
        ("MessageSid", message.id),
        ("MessageStatus", status),
        ("SmsSid", message.id),
        ("SmsStatus", status),
        ("AccountSid", message.account),
        ("From", message.from_),
        ("To", message.to),
        ("ApiVersion", API_VERSION),
    ]
    if error_code is not None:
        params.append(("ErrorCode", str(error_code)))
    if status in ("delivered", "undelivered"):
        # The carrier's "done date" from its delivery receipt (YYMMDDhhmm), on final SMS callbacks.
        params.append(("RawDlrDoneDate", utcnow().strftime("%y%m%d%H%M")))
    return params


def inbound_params(
    *,
    message_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    media: list[tuple[str, str]],
    from_country: str,
    from_state: str = "",
    from_city: str = "",
    from_zip: str = "",
) -> list[tuple[str, str]]:
    """The form Twilio posts to a number's SMS URL; `media` is (url, content type) per attachment."""
    params = [
        ("MessageSid", message_sid),
        ("SmsSid", message_sid),
        ("SmsMessageSid", message_sid),
        ("AccountSid", account_sid),
        ("From", from_),
        ("To", to),
        ("Body", body),
        ("NumMedia", str(len(media))),
        ("NumSegments", str(carrier.count_segments(body))),
        ("SmsStatus", "received"),
        ("FromCountry", from_country),
        ("FromState", from_state),
        ("FromCity", from_city),
        ("FromZip", from_zip),
        ("ToCountry", carrier.country_of(to)),
        ("ToState", ""),
        ("ToCity", ""),
        ("ToZip", ""),
        ("ApiVersion", API_VERSION),
    ]
    for index, (url, content_type) in enumerate(media):
        params += [(f"MediaUrl{index}", url), (f"MediaContentType{index}", content_type)]
    keyword = carrier.opt_out_type(body)
    if keyword:
        params.append(("OptOutType", keyword))
    return params
