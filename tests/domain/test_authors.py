"""How a sender not known to be the customer is shown, and what a conversation says about needing a reply."""

from __future__ import annotations

from repairtext.domain.phones import readable
from repairtext.domain.tickets import needs_reply_of


def test_a_number_of_the_shops_country_is_written_the_national_way():
    assert readable("+12065550134", "US") == "(206) 555-0134"


def test_a_foreign_number_keeps_its_country_code():
    assert readable("+447911123456", "US") == "+44 7911 123456"
    assert readable("+16045550134", "US") == "+1 604-555-0134"  # Canada: the same +1, another country


def test_a_sender_that_is_no_phone_number_is_shown_as_it_came():
    assert readable("262966", "US") == "262966"
    assert readable("+1206555", "US") == "+1206555"


def test_the_last_comment_that_counts_decides_whether_a_ticket_needs_a_reply():
    assert needs_reply_of([]) is False
    assert needs_reply_of([("customer", True)]) is True
    assert needs_reply_of([("customer", True), ("staff", True)]) is False
    assert needs_reply_of([("customer", True), ("staff", False), ("system", False)]) is True  # notes are no answer
    assert needs_reply_of([("staff", True), ("customer", False)]) is False  # a hidden keyword note is no question
