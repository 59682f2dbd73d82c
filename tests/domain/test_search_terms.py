"""What a search box means: a ticket number, a whole phone number in any format, the last digits of one, or
text; each reading that parses is searched."""

from __future__ import annotations

from repairtext.domain.search import SearchTerms, parse_query


def test_a_whole_phone_number_in_any_format_is_that_phone():
    for typed in ["(206) 555-0134", "2065550134", "+1 206 555 0134", "1-206-555-0134", "206.555.0134"]:
        assert parse_query(typed) == SearchTerms(text=None, phone="+12065550134"), typed


def test_the_last_digits_of_a_phone_are_a_tail_a_ticket_number_and_text():
    assert parse_query("0134") == SearchTerms(text="0134", ticket_number=134, phone_tail="0134")
    assert parse_query("555-0134") == SearchTerms(text="555-0134", phone_tail="5550134")
    assert parse_query("134") == SearchTerms(text="134", ticket_number=134)  # three digits: no tail
    assert parse_query("#0134") == SearchTerms(text=None, ticket_number=134)
    assert parse_query("+0134").phone_tail is None and parse_query("0134a").phone_tail is None


def test_text_is_squeezed_and_bounded():
    assert parse_query("  cracked   screen ") == SearchTerms(text="cracked screen")
    assert parse_query("   ") is None and parse_query(None) is None
    assert len(parse_query("x" * 500).text) == 100


def test_control_characters_are_spaces():
    assert parse_query("\x00screen\x07 cracked\n") == SearchTerms(text="screen cracked")
    assert parse_query("\x00\x01") is None
