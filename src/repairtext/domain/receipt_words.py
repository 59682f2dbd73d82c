"""What a text's status history says, in words staff can act on: a provider's status and error code turned into
what happened and what to do next. The raw words stay beside these on the page, for support.

Twilio's codes are from its error dictionary (twilio.com/docs/api/errors/NNNNN); providers.md names the ones a
status callback or a send answer carries. Flowroute's delivery receipts are read by their `status` word (the
numeric `status_code` is kept raw); a send Flowroute refused carries the HTTP status as its code. Our own codes
(`internal`, `credentials`, ...) come from services/sending.py and services/reconcile.py. An unknown code still
gets the status's words, and the code itself, so nothing a provider said is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    summary: str                # what happened
    advice: str | None = None   # what to do about it; None when nothing needs doing


CALL = "If texts keep failing, call the customer."
CHECK_NUMBER = "Check the number with the customer and correct it on their record."
SUPPORT = "Contact repairtext support; nothing you change on the ticket will fix it."

TWILIO_CODES: dict[str, Words] = {
    "30001": Words("Twilio had too many texts waiting from this number and dropped this one.",
                   "Send it again in a few minutes."),
    "30002": Words("The texting account is suspended, so the text was not sent.", SUPPORT),
    "30003": Words("The customer's phone could not be reached: it is switched off or out of coverage.",
                   "It may go through later, once the phone is back on. " + CALL),
    "30004": Words("The text was blocked: the customer or their carrier blocks texts from the shop's number.",
                   "Call the customer and ask them to allow texts from the shop's number."),
    "30005": Words("The number is unknown to its carrier: it does not exist or is no longer in service.",
                   CHECK_NUMBER),
    "30006": Words("The number cannot receive texts: it is probably a landline, or its carrier cannot be reached.",
                   "Call the customer. If it is a landline, mark this phone as home or work instead of mobile so "
                   "it is not texted again."),
    "30007": Words("The carrier filtered the text as spam.",
                   "Reword it (no link shorteners, no all-capitals, no 'free' or 'winner') and send it again; "
                   "if texts keep being filtered, contact support."),
    "30008": Words("The carrier did not deliver the text and gave no reason.", "Send it again later. " + CALL),
    "30010": Words("The text would have cost more than the account allows per message.", SUPPORT),
    "30022": Words("Too many texts went from the shop's number in a short time for its registration.",
                   "Send it again in a little while."),
    "30032": Words("Carriers blocked the text: the shop's toll-free number is not verified.", SUPPORT),
    "30034": Words("Carriers blocked the text: the shop's number is not registered for business texting "
                   "(US A2P 10DLC).", SUPPORT),
    "21211": Words("The customer's number is not a valid phone number.", CHECK_NUMBER),
    "21408": Words("Texting numbers in this customer's country is not enabled on the account.",
                   "Call the customer, or contact support to enable the country."),
    "21606": Words("The shop's sending number cannot send texts.", SUPPORT),
    "21610": Words("The customer replied STOP, so the carrier will not pass on texts from the shop's number.",
                   "They must text START to the shop's number to get texts again; call them meanwhile."),
    "21612": Words("Texts cannot be routed to this number from the shop's number.",
                   "Call the customer and ask for a mobile number."),
    "21614": Words("The number is not a mobile number, so it cannot receive texts.",
                   "Call the customer, and mark this phone as home or work instead of mobile."),
    "20003": Words("Twilio refused the platform's credentials.", SUPPORT),
    "20429": Words("Twilio was too busy to take the text.", "Send it again in a few minutes."),
}

# A send Flowroute refused: the code is the HTTP status of its answer (adapters/providers/flowroute.py).
FLOWROUTE_SEND_CODES: dict[str, Words] = {
    "401": Words("Flowroute refused the shop's access key and secret key.",
                 "Check the Flowroute keys under Settings, then send the text again."),
    "403": Words("The sending number is not on the shop's Flowroute account.",
                 "Check the numbers under Settings against the Flowroute account."),
    "422": Words("Flowroute refused the text as invalid, usually because of the customer's number.", CHECK_NUMBER),
    "429": Words("Flowroute was too busy to take the text.", "Send it again in a few minutes."),
}

# Flowroute's delivery receipt `status` words (Messages v2.1, "Receive a DLR").
FLOWROUTE_STATUS: dict[str, Words] = {
    "message buffered": Words("The carrier is holding the text until the customer's phone can take it "
                              "(it may be off or out of coverage)."),
    "smsc submit": Words("Handed to the customer's carrier."),
    "smsc intermediate notifications": Words("The customer's carrier is still working on it."),
    "smsc reject": Words("The customer's carrier refused the text.", "Check the number with the customer. " + CALL),
    "failed": Words("The carrier could not deliver the text.", "Check the number with the customer. " + CALL),
    "undelivered": Words("The carrier could not deliver the text.", "Check the number with the customer. " + CALL),
    "expired": Words("The carrier gave up: the customer's phone stayed off or out of coverage too long.", CALL),
    "smsc expired": Words("The carrier gave up: the customer's phone stayed off or out of coverage too long.", CALL),
}

TWILIO_STATUS: dict[str, Words] = {
    "partially_delivered": Words("Some parts of this long text reached the phone; the rest are still on their way."),
    "canceled": Words("The text was canceled before it went."),
    "read": Words("Delivered, and the customer has read it."),
}

# Our own codes on a text that failed before or after reaching a provider.
OUR_CODES: dict[str, Words] = {
    "internal": Words("The text kept failing inside repairtext and was given up.", SUPPORT),
    "credentials": Words("The shop's provider keys could not be read.", "Enter the Flowroute keys under Settings again."),
    "not_configured": Words("The shop's texting account is not set up.", "Finish the set-up under Settings."),
    "lookup_incomplete": Words("repairtext could not confirm with the provider whether an earlier try went, so it did "
                               "not risk texting the customer twice.", "Ask the customer whether it arrived."),
}

STATUS: dict[str, Words] = {
    "queued": Words("Waiting to be sent."),
    "sending": Words("Being handed to the provider."),
    "accepted": Words("The provider took the text and will send it."),
    "sent": Words("Sent: the carrier has it and is passing it to the customer's phone."),
    "delivered": Words("Delivered to the customer's phone."),
    "undelivered": Words("The carrier could not deliver the text.", "Check the number with the customer. " + CALL),
    "failed": Words("The text could not be sent.", "Check the number with the customer, then send it again. " + CALL),
    "unknown": Words("The provider reported a status repairtext does not know; the text's status did not change.",
                     "Nothing to do now; support can look it up with the details below."),
    "unconfirmed": Words("The provider never said whether the text arrived, even after days of asking.",
                         "If it matters, ask the customer or call them."),
}

PROVIDER_NAMES = {"twilio": "Twilio", "flowroute": "Flowroute"}


def provider_name(provider: str | None) -> str:
    return PROVIDER_NAMES.get(provider or "", provider or "the provider")


def explain(provider: str | None, status: str, provider_status: str | None = None,
            error_code: str | None = None) -> Words:
    """The words for one entry of a text's status history: by its error code if we know it, else by the
    provider's own status word, else by our status; an unknown code is named in the summary."""
    said = (provider_status or "").strip().lower()
    code = (error_code or "").strip()
    if code:
        known = _by_code(provider, code, came_in_receipt=bool(said))
        if known is not None:
            return known
    base = _by_status(provider, status, said)
    if not code or (provider == "flowroute" and said):
        return base  # Flowroute's receipt codes are read by the status word beside them
    if status == "unconfirmed":
        return base  # its code is our own note ("no final status after 72 h"), shown raw
    return Words(f"{base.summary} {provider_name(provider)} gave code {code}, which has no plain words here yet.",
                 base.advice or f"If it keeps happening, tell support the code {code}.")


def _by_code(provider: str | None, code: str, *, came_in_receipt: bool) -> Words | None:
    if code in OUR_CODES:
        return OUR_CODES[code]
    if provider == "twilio":
        return TWILIO_CODES.get(code)
    if provider == "flowroute" and not came_in_receipt:
        return FLOWROUTE_SEND_CODES.get(code) or (
            Words("Flowroute could not take the text just then.", "Send it again in a few minutes.")
            if code.isdigit() and int(code) >= 500 else None)
    return None


def _by_status(provider: str | None, status: str, said: str) -> Words:
    table = FLOWROUTE_STATUS if provider == "flowroute" else TWILIO_STATUS
    if said in table:
        return table[said]
    return STATUS.get(status) or Words(f"Status '{status}'.")
