"""Which characters push a text out of GSM-7, and how each is spelled in GSM-7 where it can be.

One curly quote makes a whole text UCS-2: 70 characters a segment instead of 160, so a 100-character update costs
two credits instead of one. Staff fix it only if they are told which character did it and what to type instead.
The spellings are smart encoding's (segments.smart_encode): one table for the shop setting that replaces them
on sending and for the "Use plain characters" button, so the two never disagree.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

from repairtext.domain.segments import GSM_7, encoding_of, smart_encode

_GRAPHEME = regex.compile(r"\X")
MAX_CULPRITS = 20  # a text in another script has hundreds of distinct characters; naming 20 is enough to act on
# Spaces, separators, formatting and control characters, combining marks: a person cannot see them on their own.
_UNSEEN_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})


@dataclass(frozen=True)
class Culprit:
    """One character (a grapheme as typed: an emoji with its skin tone is one) that is not GSM-7."""

    character: str
    code: str  # "U+201C": how to name a character nobody can see
    name: str  # "left double quotation mark"
    plain: str | None  # its GSM-7 spelling ("" when it is invisible and simply goes); None when there is none
    count: int  # how often it occurs

    @property
    def unseen(self) -> bool:
        return all(unicodedata.category(c) in _UNSEEN_CATEGORIES for c in self.character)


@dataclass(frozen=True)
class NonGsm:
    culprits: list[Culprit]  # in order of first appearance, at most MAX_CULPRITS
    more: int  # distinct culprits left out of the list

    @property
    def fixable(self) -> bool:
        """Some culprit has a GSM-7 spelling: plain_spelling would change the text."""
        return any(c.plain is not None for c in self.culprits)


def _name(grapheme: str) -> str:
    first = grapheme[0]
    return unicodedata.name(first, "").lower() or f"character U+{ord(first):04X}"


def non_gsm_characters(text: str) -> NonGsm:
    """The characters that make `text` UCS-2, each with its GSM-7 spelling or None. Empty for a GSM-7 text."""
    if encoding_of(text) == GSM_7:
        return NonGsm([], 0)
    seen: dict[str, int] = {}
    for grapheme in _GRAPHEME.findall(text):
        if encoding_of(grapheme) != GSM_7:
            seen[grapheme] = seen.get(grapheme, 0) + 1
    culprits = []
    for grapheme, count in list(seen.items())[:MAX_CULPRITS]:
        spelled = smart_encode(grapheme)
        plain = spelled if encoding_of(spelled) == GSM_7 else None
        culprits.append(Culprit(grapheme, " ".join(f"U+{ord(c):04X}" for c in grapheme), _name(grapheme), plain,
                                count))
    return NonGsm(culprits, max(0, len(seen) - MAX_CULPRITS))


def plain_spelling(text: str) -> str:
    """`text` with every character that has a GSM-7 spelling spelled so (curly quotes → ' ", dashes → -,
    … → ..., odd spaces → a space, invisible characters dropped); the rest (emoji, other scripts) as typed."""
    return smart_encode(text)
