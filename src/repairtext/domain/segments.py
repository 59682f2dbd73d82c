"""SMS segments: how a text travels over the air and what it costs.

The built-in Twilio account spends one credit per segment (shared/reference/providers.md, "Carrier rules"), so
these counts must be Twilio's. They follow Twilio's own calculator, TwilioDevEd/message-segment-calculator
(npm `sms-segments-calculator`; SegmentedMessage.ts, Segment.ts, EncodedChar.ts, UnicodeToGSM.ts):

- GSM-7 when every character is in the GSM 03.38 default alphabet or its extension table. A segment holds 160
  septets; a part of a longer message loses 6 octets to its User Data Header and holds 153. An extension
  character goes as ESC + character (2 septets) and the pair is never split.
- Anything else makes the whole text UCS-2: 70 UTF-16 code units alone, 67 a part; never half a surrogate pair.
- A part never ends inside a grapheme cluster (`regex` \\X: emoji + skin tone, letter + combining accent, flags),
  with one exception taken from the calculator: it splits CR LF into two characters before it segments.
- Quirks kept on purpose, because credits must match: an empty text is one empty GSM-7 segment, and a cluster
  wider than a part is never cut: it overfills a part of its own (the calculator's Segment.addHeader path).
  When such a cluster opens the message, the first part is left empty.

Provider limits are a different matter: Twilio refuses a Body over 1,600 characters, see split_for_provider.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from codecs import utf_16_le_decode
from dataclasses import dataclass
from itertools import accumulate, pairwise

import regex

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
TWILIO_BODY_LIMIT = 1600
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f")  # whitespace, but the writer asked us not to break there

# The calculator's UnicodeToGSM table; unlike some libraries it does not accept a bare ESC.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[]~|€"
GSM_ALPHABET = frozenset(GSM_BASIC + GSM_EXTENSION)

_NOT_GSM = re.compile("[^" + re.escape(GSM_BASIC + GSM_EXTENSION) + "]")
_ESC = "\x1b"

_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}")


def _character_class(characters: list[str]) -> str:
    """A stdlib `re` class body for `characters`. Astral ranges of one plane are joined across gaps without
    emoji: the engine tries them one by one (the BMP goes in one bitmap), and a few extra rare characters in the
    class only cost a closer look."""
    ranges: list[list[int]] = []
    for code in sorted(map(ord, characters)):
        previous = ranges[-1][1] if ranges else -2
        if code == previous + 1 or (code > 0xFFFF and code >> 16 == previous >> 16
                                    and not _EMOJI.search("".join(map(chr, range(previous + 1, code))))):
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(re.escape(chr(first)) + "-" + re.escape(chr(last)) for first, last in ranges)


# Characters that can glue onto a neighbour: every Grapheme_Cluster_Break value but Other, Control, CR and LF,
# taken from the regex package's own tables so they agree with its \X. None lie below U+0300 or outside planes
# 0, 1 and 14. Between two characters that cannot glue there is always a cluster boundary (CR LF aside).
_GLUE_PROPERTIES = r"\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}" \
                   r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}"
_GLUE = re.compile("[" + _character_class(regex.findall(f"[{_GLUE_PROPERTIES}]", "".join(
    map(chr, [*range(0x300, 0xD800), *range(0xE000, 0x20000), *range(0xE0000, 0xE1000)])))) + "]")
# Cutting every 67 units (back to the start of a cluster a cut falls in) gives the calculator's parts as long as
# no cut falls in a cluster wider than this: its overfill needs one over 67 units, or two that add up to 66
# around the first cut. Wider ones go through the calculator's own packing, _split_by_graphemes.
_WIDEST_ORDINARY_CLUSTER = 32

_LOOKALIKES = {
    '"': "«»“”„‟″ʺˮ❝❞〝〞",
    "'": "‘’‚‛′ʹʻʼʽˈˊˋ´`｀❛❜︐︑",
    "-": "‐‑‒–—―−⁃•⎼⎽﹣",
    "...": "…",
    " ": "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000",
    "\n": "\u2028\u2029",
    # Invisible: soft hyphen, zero-width spaces, word joiner, BOM and control characters.
    "": "\u00ad\u200b\u2060\ufeff" + "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)] if c != 0x09),
    "/": "÷⁄∕⧸", "\\": "⧵⧹﹨", "|": "∣⎜⎟⎸⎹⏐", "_": "‗", "~": "˜˷∼", "^": "ˆ",
    "!": "ǃ︕﹗", "!!": "‼", "?": "︖﹖", "#": "﹟", "%": "﹪", "&": "﹠", "@": "﹫", "$": "﹩",
    ",": "、﹐﹑､", ".": "。﹒｡", ":": "ː˸⦂꞉︓", ";": "⁏︔﹔", "<": "‹﹤", ">": "›﹥", "=": "꞊﹦", "+": "˖﹢",
    "(": "❨❪⟮⦅﹙", ")": "❩❫⟯⦆﹚", "{": "❴﹛", "}": "❵﹜", "*": "⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆﹡",
    "1/4": "¼", "1/2": "½", "3/4": "¾",
}
_FULLWIDTH = {chr(c + 0xFEE0): chr(c) for c in range(0x21, 0x7F) if chr(c) in GSM_ALPHABET}
_SMALL_CAPITALS = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True))
_SMART_TABLE = str.maketrans({
    **_FULLWIDTH, **_SMALL_CAPITALS,
    **{c: gsm for gsm, lookalikes in _LOOKALIKES.items() for c in lookalikes if c not in GSM_ALPHABET},
})
_HAS_LOOKALIKE = re.compile("[" + re.escape("".join(chr(c) for c in _SMART_TABLE)) + "]")


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # GSM_7 or UCS_2
    segments: int
    units: int  # septets for GSM-7 (an extension character counts 2), UTF-16 code units for UCS-2


def smart_encode(text: str) -> str:
    """Replace look-alikes (curly quotes, dashes, ellipsis, odd spaces, fullwidth forms) with GSM characters so
    that a pasted text keeps GSM-7 prices, and drop invisible characters. GSM characters are never touched.

    The table follows the calculator's SmartEncodingMap.ts, except: odd spaces and the tab become one space (it
    gives two, and seven for a tab), line and paragraph separators a newline, C1 controls nothing (it gives some
    two spaces), ‚ an apostrophe (it gives a comma), ‹ › < and > (it swaps them), and combining marks stay (it
    turns "e" + U+0302 into "e^"). Added: minus sign, non-breaking and figure dashes, primes, every fullwidth form.
    """
    return text.translate(_SMART_TABLE) if _HAS_LOOKALIKE.search(text) else text


def encoding_of(text: str) -> str:
    """GSM_7 when every character is in the GSM 03.38 alphabet or its extension table, else UCS_2."""
    return UCS_2 if _NOT_GSM.search(text) else GSM_7


def count_segments(text: str, *, smart: bool = False) -> SegmentCount:
    """Segments (credits) of one provider message; always equal to len(split_segments(text))."""
    if smart:
        text = smart_encode(text)
    if not _NOT_GSM.search(text):
        wire = _gsm_wire(text)
        if len(wire) <= GSM_SINGLE:
            segments = 1
        elif len(wire) == len(text):
            segments = -(-len(wire) // GSM_PART)
        else:
            segments = len(_split_gsm(text, wire))
        return SegmentCount(GSM_7, segments, len(wire))
    units = text.encode("utf-16-le")
    segments = 1 if len(units) <= 2 * UCS2_SINGLE else len(_split_ucs2(text, units))
    return SegmentCount(UCS_2, segments, len(units) >> 1)


def split_segments(text: str, *, smart: bool = False) -> list[str]:
    """The parts as the carrier sends them; "".join(parts) is the text (smart-encoded when `smart`)."""
    if smart:
        text = smart_encode(text)
    if not _NOT_GSM.search(text):
        return _split_gsm(text, _gsm_wire(text))
    return _split_ucs2(text, text.encode("utf-16-le"))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) >> 1


def _gsm_wire(text: str) -> str:
    """The text with each extension character preceded by ESC, as it is sent: one character a septet."""
    for character in GSM_EXTENSION:
        if character in text:
            text = text.replace(character, _ESC + character)
    return text


def _split_gsm(text: str, wire: str) -> list[str]:
    # In GSM-7 every grapheme is one character (a cluster needs a non-GSM mark; CR LF the calculator splits).
    if len(wire) <= GSM_SINGLE:
        return [text]
    if len(wire) == len(text):
        return [text[i:i + GSM_PART] for i in range(0, len(text), GSM_PART)]
    parts, start = [], 0
    while start < len(wire):
        end = start + GSM_PART
        if wire[end - 1:end] == _ESC:  # an escape pair stays together
            end -= 1
        parts.append(wire[start:end].replace(_ESC, ""))
        start = end
    return parts


def _split_ucs2(text: str, wire: bytes) -> list[str]:
    """Cut the UTF-16 form every 67 units, step back off a high surrogate, then back to the start of a cluster
    the cut would fall into."""
    if len(wire) <= 2 * UCS2_SINGLE:
        return [text]
    no_surrogates = len(wire) == 2 * len(text)
    parts, at, at_byte = [], 0, 0
    while at_byte < len(wire):
        end_byte = at_byte + 2 * UCS2_PART
        if no_surrogates:
            part = text[at:at + UCS2_PART]
        else:
            if end_byte < len(wire) and 0xD8 <= wire[end_byte - 1] <= 0xDB:
                end_byte -= 2
            part = utf_16_le_decode(wire[at_byte:end_byte])[0]
        cut = _cluster_boundary(text, at, at + len(part))
        if cut is None:
            return _split_by_graphemes(text, UCS_2)
        if cut < at + len(part):
            part = part[:cut - at]
            end_byte = at_byte + 2 * _utf16_len(part)
        parts.append(part)
        at, at_byte = cut, end_byte
    return parts


def _cluster_boundary(text: str, start: int, cut: int) -> int | None:
    """The last grapheme boundary at or before `cut` in a part that starts at `start`; None when `cut` falls in
    a cluster so wide that plain greedy packing may part ways with the calculator's."""
    if cut >= len(text) or not _GLUE.search(text, cut - 1, cut + 1):
        return cut
    at = cut - 1
    while at > start and _GLUE.search(text, at - 1, at + 1):
        at -= 1
    while (end := _GRAPHEME.match(text, at).end()) < cut:
        at = end
    if end == cut:
        return cut
    return at if _utf16_len(text[at:end]) <= _WIDEST_ORDINARY_CLUSTER else None


def _graphemes(text: str) -> list[str]:
    graphemes = _GRAPHEME.findall(text)
    if "\r\n" in text:  # the calculator's GraphemeSplitter pass splits CR LF, so a part may end between them
        graphemes = [c for g in graphemes for c in (("\r", "\n") if g == "\r\n" else (g,))]
    return graphemes


def _split_by_graphemes(text: str, encoding: str) -> list[str]:
    """The calculator's Segment packing, grapheme by grapheme: slower, but right for any cluster width, and the
    reference the fast paths are tested against.

    The first segment takes what fits in a single segment; when the text overflows it, the segment takes a header
    and keeps only what fits in a part, handing the rest on to the second part together with the grapheme that
    overflowed, whatever their width. Every later part takes its first grapheme whatever its width, then more
    while they fit.
    """
    graphemes = _graphemes(text)
    if encoding == UCS_2:
        single, part, widths = UCS2_SINGLE, UCS2_PART, [_utf16_len(g) for g in graphemes]
    else:
        single, part, widths = GSM_SINGLE, GSM_PART, [2 if g in GSM_EXTENSION else 1 for g in graphemes]
    used = [0, *accumulate(widths)]
    if used[-1] <= single:
        return [text]
    overflowing = bisect_right(used, single) - 1
    ends = [bisect_right(used, part) - 1]
    must_reach = overflowing + 1
    while ends[-1] < len(graphemes):
        start = ends[-1]
        ends.append(max(must_reach, bisect_right(used, used[start] + part) - 1))
        must_reach = ends[-1] + 1
    offsets = [0, *accumulate(map(len, graphemes))]
    return [text[offsets[a]:offsets[b]] for a, b in pairwise([0, *ends])]


def split_for_provider(text: str, limit: int = TWILIO_BODY_LIMIT) -> list[str]:
    """Split a text longer than Twilio's Body limit into several provider messages.

    Twilio counts "characters" of the Body and says emoji count as several (error 21617); we count UTF-16 code
    units, which is never less than code points, so a part we accept Twilio accepts either way. Each part is a
    message of its own: its segments are count_segments(part), and a text's credits are their sum.
    Precisely: the parts p0..pn and the text satisfy text == p0 + s0 + p1 + s1 + ... + pn, where each dropped
    separator s is "" or one whitespace grapheme (a space, a newline, CR LF; never a no-break space). Every part
    is non-empty (unless the text is) and at most `limit` units. A part ends at the last whitespace that lets it
    fit and leaves something after it; without one it ends at the last grapheme boundary that fits. Only a
    single grapheme wider than `limit` is cut between its code points, since Twilio would refuse it whole.
    """
    if limit < 2:
        raise ValueError("limit must hold at least one character of 2 UTF-16 units")
    if _utf16_len(text) <= limit:
        return [text]
    graphemes = _GRAPHEME.findall(text)
    used = [0, *accumulate(map(_utf16_len, graphemes))]
    parts, start = [], 0
    while used[-1] - used[start] > limit:
        end = bisect_right(used, used[start] + limit) - 1
        if end == start:  # one grapheme wider than the limit: cut it like plain characters
            graphemes[start:start + 1] = list(graphemes[start])
            used = [0, *accumulate(map(_utf16_len, graphemes))]
            continue
        last_with_a_rest = min(end, len(graphemes) - 2)
        separator = next((k for k in range(last_with_a_rest, start, -1) if _breaks(graphemes[k])), None)
        if separator is None:
            parts.append("".join(graphemes[start:end]))
            start = end
        else:
            parts.append("".join(graphemes[start:separator]))
            start = separator + 1
    parts.append("".join(graphemes[start:]))
    return parts


def _breaks(grapheme: str) -> bool:
    return grapheme.isspace() and grapheme not in _NO_BREAK_SPACES
