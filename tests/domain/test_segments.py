"""The segmenter against Twilio's segment calculator (TwilioDevEd/message-segment-calculator).

Every vector in VECTORS was checked against the calculator's own code (SegmentedMessage, run under Node): same
encoding, same segment count, same parts. The properties then hold the fast paths to the calculator's packing
(_split_by_graphemes) on any text.
"""

from __future__ import annotations

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from repairtext.domain import segments
from repairtext.domain.segments import (
    GSM_7,
    GSM_ALPHABET,
    GSM_EXTENSION,
    UCS_2,
    SegmentCount,
    count_segments,
    encoding_of,
    smart_encode,
    split_for_provider,
    split_segments,
)

GRAPHEME = regex.compile(r"\X")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def units_of(part: str, encoding: str) -> int:
    return len(part) + sum(part.count(c) for c in GSM_EXTENSION) if encoding == GSM_7 else utf16(part)


VECTORS = {  # name: (text, encoding, units, parts)
    "empty text is one empty segment": ("", GSM_7, 0, [""]),
    "160 septets fit one segment": ("a" * 160, GSM_7, 160, ["a" * 160]),
    "161 septets take two parts of 153": ("a" * 161, GSM_7, 161, ["a" * 153, "a" * 8]),
    "306 septets fill two parts": ("a" * 306, GSM_7, 306, ["a" * 153] * 2),
    "307 septets need a third part": ("a" * 307, GSM_7, 307, ["a" * 153] * 2 + ["a"]),
    "80 euro signs are 160 septets": ("€" * 80, GSM_7, 160, ["€" * 80]),
    "81 euro signs: parts of 152 septets": ("€" * 81, GSM_7, 162, ["€" * 76, "€" * 5]),
    "escape pair at a part boundary moves whole": (
        "a" * 152 + "€" + "b" * 10, GSM_7, 164, ["a" * 152, "€" + "b" * 10]),
    "escape pair that just fits stays": ("a" * 151 + "€" + "b" * 10, GSM_7, 163, ["a" * 151 + "€", "b" * 10]),
    "form feed costs two septets": ("a" * 159 + "\f", GSM_7, 161, ["a" * 153, "a" * 6 + "\f"]),
    "upper-case Ç is GSM": ("Ç" * 160, GSM_7, 160, ["Ç" * 160]),
    "lower-case ç is not: 70 fit": ("ç" * 70, UCS_2, 70, ["ç" * 70]),
    "71 UCS-2 units take parts of 67": ("ç" * 71, UCS_2, 71, ["ç" * 67, "ç" * 4]),
    "134 UCS-2 units fill two parts": ("ç" * 134, UCS_2, 134, ["ç" * 67] * 2),
    "135 UCS-2 units need a third": ("ç" * 135, UCS_2, 135, ["ç" * 67] * 2 + ["ç"]),
    "35 emoji are 70 units": ("😜" * 35, UCS_2, 70, ["😜" * 35]),
    "36 emoji: a surrogate pair is never split": ("😜" * 36, UCS_2, 72, ["😜" * 33, "😜" * 3]),
    "emoji across the boundary moves whole": ("a" * 66 + "😜" + "b" * 10, UCS_2, 78, ["a" * 66, "😜" + "b" * 10]),
    "skin-tone emoji moves whole": ("a" * 65 + "👍🏽" + "b" * 10, UCS_2, 79, ["a" * 65, "👍🏽" + "b" * 10]),
    "letter with combining accent moves whole": (
        "ç" + "a" * 65 + "e\u0301" + "b" * 10, UCS_2, 78, ["ç" + "a" * 65, "e\u0301" + "b" * 10]),
    "ZWJ family moves whole": ("ç" * 60 + "👨‍👩‍👧" + "b" * 10, UCS_2, 78, ["ç" * 60, "👨‍👩‍👧" + "b" * 10]),
    "flag (a pair of regional indicators) moves whole": (
        "ç" * 65 + "🇫🇷🇩🇪" + "b" * 10, UCS_2, 83, ["ç" * 65, "🇫🇷🇩🇪" + "b" * 10]),
    # The calculator splits CR LF into two characters before segmenting, so a part may end between them.
    "CR LF may part in GSM-7": ("a" * 152 + "\r\n" + "b" * 10, GSM_7, 164, ["a" * 152 + "\r", "\n" + "b" * 10]),
    "CR LF may part in UCS-2": (
        "ç" + "a" * 65 + "\r\n" + "b" * 10, UCS_2, 78, ["ç" + "a" * 65 + "\r", "\n" + "b" * 10]),
    "backtick is not GSM": ("`", UCS_2, 1, ["`"]),
    "a bare ESC is not GSM either": ("\x1b", UCS_2, 1, ["\x1b"]),
    "curly quotes, dash and ellipsis are not GSM": (
        "Your phone is “ready” – see you…", UCS_2, 32, ["Your phone is “ready” – see you…"]),
    # A cluster wider than a part overfills a part of its own; opening the text, it leaves the first part empty.
    "cluster wider than a part, first": (
        "e" + "\u0301" * 80 + "abc", UCS_2, 84, ["", "e" + "\u0301" * 80, "abc"]),
    "cluster wider than a part, later": (
        "ab" + "e" + "\u0301" * 80 + "cd", UCS_2, 85, ["ab", "e" + "\u0301" * 80, "cd"]),
}


@pytest.mark.parametrize("text, encoding, units, parts", VECTORS.values(), ids=VECTORS.keys())
def test_matches_the_twilio_calculator(text, encoding, units, parts):
    assert encoding_of(text) == encoding
    assert count_segments(text) == SegmentCount(encoding, len(parts), units)
    assert split_segments(text) == parts


def test_smart_quotes_cost_ucs2_unless_smart_encoded():
    text = "it’s ‘fixed’ „now‟ ‛ok‚ — “done” … pick\u00a0up"
    assert count_segments(text) == SegmentCount(UCS_2, 1, 42)
    assert smart_encode(text) == "it's 'fixed' \"now\" 'ok' - \"done\" ... pick up"
    assert count_segments(text, smart=True) == SegmentCount(GSM_7, 1, 44)
    assert split_segments(text, smart=True) == [smart_encode(text)]


def test_smart_encoding_keeps_a_long_text_in_fewer_segments():
    text = "Your repair’s done – pick it up today. " * 4  # 156 characters
    assert count_segments(text) == SegmentCount(UCS_2, 3, 156)
    assert count_segments(text, smart=True).segments == 1


@pytest.mark.parametrize("lookalike, replacement", [
    ("‘", "'"), ("’", "'"), ("‚", "'"), ("‛", "'"), ("“", '"'), ("”", '"'), ("„", '"'), ("‟", '"'),
    ("–", "-"), ("—", "-"), ("−", "-"), ("…", "..."), ("\u00a0", " "), ("\u2009", " "), ("\u3000", " "),
    ("\t", " "), ("\u200b", ""), ("\ufeff", ""), ("`", "'"), ("＄", "$"), ("½", "1/2"), ("ᴀ", "A"),
])
def test_smart_encode_replaces_lookalikes(lookalike, replacement):
    assert smart_encode(f"a{lookalike}b") == f"a{replacement}b"


def test_smart_encode_keeps_what_has_no_gsm_lookalike():
    text = "ç 😜 e\u0301 中文 Ω € ^ Ç"
    assert smart_encode(text) == text


def test_smart_encode_table_maps_only_non_gsm_characters_to_gsm_text():
    table = segments._SMART_TABLE
    assert all(chr(code) not in GSM_ALPHABET for code in table)
    assert all(set(replacement) <= GSM_ALPHABET for replacement in table.values())


# Text strategies: arbitrary Unicode, plain GSM, and a soup of the pieces that make segmenting hard.
HARD_PIECES = [
    "a", "Z", " ", ".", "1", "é", "Ç", "ç", "€", "{", "^", "\\", "|", "\f", "\n", "\r", "\r\n", "`", "“", "…",
    "–", "\u00a0", "😜", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "🇩", "e\u0301", "\u0301", "\u200d", "\ufe0f", "🏽",
    "中", "한", "क्ष", "ᄀ", "ᅡ", "\u0600", "\U0001D400", "\U000E0067",
]
gsm_texts = st.text(alphabet=sorted(GSM_ALPHABET), max_size=500)
hard_texts = st.lists(
    st.sampled_from(HARD_PIECES) | st.just("a" * 40) | st.just("e" + "\u0301" * 40), max_size=200
).map("".join)
any_texts = st.text(max_size=400) | gsm_texts | hard_texts


def widest_grapheme(text: str) -> int:
    return max((utf16(g) for g in GRAPHEME.findall(text)), default=0)


def grapheme_boundaries(text: str, *, split_crlf: bool) -> set[int]:
    boundaries = {0} | {m.end() for m in GRAPHEME.finditer(text)}
    if split_crlf:
        boundaries |= {m.start() + 1 for m in regex.finditer("\r\n", text)}
    return boundaries


@settings(max_examples=400)
@given(any_texts)
@example("a" * 152 + "€" * 2)
@example("ç" * 66 + "👍🏽")
def test_segments_rebuild_the_text_and_respect_the_carrier_rules(text):
    parts = split_segments(text)
    count = count_segments(text)
    assert "".join(parts) == text
    assert count.segments == len(parts)
    assert count.encoding == (GSM_7 if set(text) <= GSM_ALPHABET else UCS_2)
    assert count.units == units_of(text, count.encoding)
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts) + 1)]
    assert set(offsets) <= grapheme_boundaries(text, split_crlf=True)
    if widest_grapheme(text) <= 32:  # wider clusters overfill parts in the calculator too
        single, part = (160, 153) if count.encoding == GSM_7 else (70, 67)
        capacity = single if len(parts) == 1 else part
        assert all(units_of(p, count.encoding) <= capacity for p in parts)
        assert all(parts) or text == ""


@settings(max_examples=400)
@given(any_texts)
def test_fast_paths_agree_with_the_calculator_packing(text):
    assert split_segments(text) == segments._split_by_graphemes(text, encoding_of(text))


@given(any_texts)
def test_smart_segments_rebuild_the_smart_encoded_text(text):
    encoded = smart_encode(text)
    assert "".join(split_segments(text, smart=True)) == encoded
    assert count_segments(text, smart=True) == count_segments(encoded)
    assert smart_encode(encoded) == encoded


@given(gsm_texts)
def test_smart_encode_leaves_gsm_text_alone(text):
    assert smart_encode(text) == text


def test_glue_table_covers_every_joining_character():
    """The fast UCS-2 path relies on these: it looks for clusters only around glue characters."""
    everything = "".join(map(chr, [*range(0xD800), *range(0xE000, 0x110000)]))
    glue = regex.findall(f"[{segments._GLUE_PROPERTIES}]", everything)
    assert len(glue) > 10_000
    assert all(segments._GLUE.match(c) for c in glue)
    assert all(ord(c) >= 0x300 and ord(c) >> 16 in (0, 1, 14) for c in glue)
    assert not segments._GLUE.search("".join(HARD_PIECES[:5]) + "😜“…中Ω")


# split_for_provider: Twilio refuses a Body over 1,600 characters (counted here in UTF-16 code units).

def separators(text: str, parts: list[str]) -> list[str] | None:
    """The dropped separators s_i if text == p0 + s0 + p1 + ... + pn, each s_i "" or one whitespace grapheme."""
    def walk(at: int, i: int) -> list[str] | None:
        if not text.startswith(parts[i], at):
            return None
        at += len(parts[i])
        if i == len(parts) - 1:
            return [] if at == len(text) else None
        following = GRAPHEME.match(text, at)
        breaks = following and following.group().isspace() and following.group() not in "\u00a0\u2007\u202f"
        candidates = [""] + ([following.group()] if breaks else [])
        for separator in candidates:
            rest = walk(at + len(separator), i + 1)
            if rest is not None:
                return [separator, *rest]
        return None
    return walk(0, 0)


@pytest.mark.parametrize("text, parts", [
    ("", [""]),
    ("Your phone is ready.", ["Your phone is ready."]),
    ("a" * 1600, ["a" * 1600]),
    ("a" * 1601, ["a" * 1600, "a"]),
    ("😜" * 800, ["😜" * 800]),
    ("😜" * 801, ["😜" * 800, "😜"]),
    ("a" * 1600 + " b", ["a" * 1600, "b"]),
    ("a" * 1600 + " ", ["a" * 1600, " "]),
    ("a" * 1599 + "\u00a0b", ["a" * 1599 + "\u00a0", "b"]),
    ("a" * 1599 + "\r\nb", ["a" * 1599, "b"]),
    ("a" * 1598 + "👍🏽" + "b", ["a" * 1598, "👍🏽b"]),
    ("word " * 400, ["word " * 319 + "word", "word " * 80]),
    ("abc def " + "x" * 1597, ["abc def", "x" * 1597]),
])
def test_split_for_provider_vectors(text, parts):
    assert split_for_provider(text) == parts


def test_split_for_provider_cuts_a_cluster_only_when_it_alone_exceeds_the_limit():
    text = "ab " + "e" + "\u0301" * 20 + " cd"
    parts = split_for_provider(text, limit=10)
    assert parts == ["ab", "e" + "\u0301" * 9, "\u0301" * 10, "\u0301 cd"]
    assert separators(text, parts) == [" ", "", ""]


def test_split_for_provider_needs_room_for_a_surrogate_pair():
    with pytest.raises(ValueError):
        split_for_provider("😜😜", limit=1)


@settings(max_examples=300)
@given(any_texts | st.text(alphabet="ab \n\t😜👍🏽\u00a0", max_size=400), st.integers(min_value=2, max_value=120))
def test_split_for_provider_parts_fit_and_restore_the_text(text, limit):
    parts = split_for_provider(text, limit)
    assert all(utf16(p) <= limit for p in parts)
    assert all(parts) or parts == [""]
    dropped = separators(text, parts)
    assert dropped is not None
    assert all(s == "" or s.isspace() for s in dropped)
    if widest_grapheme(text) <= limit:
        starts, at = [], 0
        for part, separator in zip(parts, [*dropped, ""], strict=True):
            starts += [at, at + len(part)]
            at += len(part) + len(separator)
        assert set(starts) <= grapheme_boundaries(text, split_crlf=False)
