"""The plain words for a text's status history (domain/receipt_words.py): each code staff meet most, each
provider's status words, and the fallback that still names a code we have no words for."""

from __future__ import annotations

import pytest

from repairtext.domain.receipt_words import FLOWROUTE_STATUS, STATUS, TWILIO_CODES, explain
from repairtext.services.receipts import FLOWROUTE_STATUS as FLOWROUTE_MEANS
from repairtext.services.receipts import TWILIO_STATUS as TWILIO_MEANS


@pytest.mark.parametrize(("code", "summary_has", "advice_has"), [
    ("30003", "switched off or out of coverage", "call the customer"),
    ("30005", "does not exist or is no longer in service", "Check the number"),
    ("30006", "landline", "mark this phone as home or work"),
    ("30007", "spam", "Reword it"),
    ("30008", "gave no reason", "Send it again later"),
    ("21610", "replied STOP", "text START"),
    ("21211", "not a valid phone number", "Check the number"),
    ("21614", "not a mobile number", "mark this phone as home or work"),
    ("30004", "blocked", "allow texts"),
    ("30034", "not registered for business texting", "support"),
])
def test_twilio_codes_say_what_happened_and_what_to_do(code, summary_has, advice_has):
    words = explain("twilio", "undelivered", "undelivered", code)
    assert summary_has in words.summary and advice_has in (words.advice or "")


def test_a_send_refused_by_twilio_reads_by_its_code_though_no_receipt_came():
    words = explain("twilio", "failed", None, "21211")
    assert words == TWILIO_CODES["21211"]


def test_an_unknown_twilio_code_keeps_the_status_words_and_names_the_code():
    words = explain("twilio", "undelivered", "undelivered", "39999")
    assert words.summary.startswith(STATUS["undelivered"].summary)
    assert "Twilio gave code 39999" in words.summary and words.advice


def test_an_unknown_code_without_advice_of_its_own_says_to_pass_the_code_on():
    words = explain("twilio", "sent", "sent", "12345")
    assert "code 12345" in words.summary and words.advice == "If it keeps happening, tell support the code 12345."


def test_every_status_a_provider_reports_has_words_of_its_own():
    for provider, table in (("twilio", TWILIO_MEANS), ("flowroute", FLOWROUTE_MEANS)):
        for said, ours in table.items():
            words = explain(provider, ours, said)
            assert words.summary and not words.summary.startswith("Status '"), (provider, said)


def test_flowroute_receipts_read_by_their_status_word_and_keep_the_code_raw():
    assert explain("flowroute", "sent", "message buffered", "1003") == FLOWROUTE_STATUS["message buffered"]
    assert explain("flowroute", "delivered", "delivered", "0") == STATUS["delivered"]
    rejected = explain("flowroute", "failed", "smsc reject", "4001")
    assert "refused" in rejected.summary and "4001" not in rejected.summary  # the page shows the code raw


def test_a_send_flowroute_refused_reads_by_its_http_status():
    assert "access key" in explain("flowroute", "failed", None, "401").summary
    assert "not on the shop's Flowroute account" in explain("flowroute", "failed", None, "403").summary
    assert "Send it again" in (explain("flowroute", "failed", None, "503").advice or "")


def test_our_own_statuses_and_codes_have_words():
    assert explain("twilio", "unconfirmed", "sent", "no final status after 72 h") == STATUS["unconfirmed"]
    assert "does not know" in explain("twilio", "unknown", "teleported").summary
    assert "inside repairtext" in explain("twilio", "failed", None, "internal").summary
    assert explain("twilio", "delivered", "delivered").advice is None
    assert explain(None, "queued").summary == "Waiting to be sent."
    assert explain("twilio", "warped").summary == "Status 'warped'."
