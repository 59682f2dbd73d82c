"""The characters that make a text UCS-2, and their GSM-7 spelling (domain/plain_text.py)."""

from __future__ import annotations

from repairtext.domain.plain_text import MAX_CULPRITS, non_gsm_characters, plain_spelling
from repairtext.domain.segments import GSM_7, UCS_2, count_segments, encoding_of


def _named(text: str) -> list[tuple[str, str | None]]:
    return [(c.character, c.plain) for c in non_gsm_characters(text).culprits]


def test_a_gsm_text_has_no_culprits():
    found = non_gsm_characters("Your phone is ready: £40, pay at the desk {cash or card} ~ 5€ off")
    assert found.culprits == [] and found.more == 0 and not found.fixable


def test_smart_punctuation_is_named_with_its_plain_spelling_in_order_of_appearance():
    text = "“Ready” — it’s fixed… see\u00a0you"
    assert _named(text) == [("“", '"'), ("”", '"'), ("—", "-"), ("’", "'"), ("…", "..."), ("\u00a0", " ")]
    found = non_gsm_characters(text)
    assert found.fixable
    quote = found.culprits[0]
    assert (quote.code, quote.name, quote.count, quote.unseen) == ("U+201C", "left double quotation mark", 1, False)
    space = found.culprits[-1]
    assert (space.code, space.name, space.unseen) == ("U+00A0", "no-break space", True)


def test_the_plain_spelling_is_gsm_7_and_cheaper():
    text = "Hi Ana, your “Pixel 8” screen is in — we’re open till 6… " + "x" * 60
    assert count_segments(text).encoding == UCS_2 and count_segments(text).segments == 2
    plain = plain_spelling(text)
    assert plain == "Hi Ana, your \"Pixel 8\" screen is in - we're open till 6... " + "x" * 60
    assert encoding_of(plain) == GSM_7 and count_segments(plain).segments == 1


def test_characters_without_a_plain_spelling_are_named_as_such_and_left_alone():
    text = "Done 👍🏽 “ok” 汉"
    assert _named(text) == [("👍🏽", None), ("“", '"'), ("”", '"'), ("汉", None)]
    thumbs = non_gsm_characters(text).culprits[0]
    assert thumbs.name == "thumbs up sign" and thumbs.code == "U+1F44D U+1F3FD"  # the skin tone stays with it
    assert plain_spelling(text) == 'Done 👍🏽 "ok" 汉'
    assert encoding_of(plain_spelling(text)) == UCS_2
    assert not non_gsm_characters("🎉 🎉").fixable and non_gsm_characters("🎉 🎉").culprits[0].count == 2


def test_invisible_characters_are_named_by_code_and_removed():
    found = non_gsm_characters("ready\u200bnow")
    assert [(c.code, c.name, c.plain, c.unseen) for c in found.culprits] == [("U+200B", "zero width space", "", True)]
    assert plain_spelling("ready\u200bnow") == "readynow"


def test_a_text_in_another_script_names_a_bounded_list():
    text = "".join(chr(0x4E00 + i) for i in range(300))
    found = non_gsm_characters(text)
    assert len(found.culprits) == MAX_CULPRITS and found.more == 300 - MAX_CULPRITS
    assert all(c.plain is None for c in found.culprits)
