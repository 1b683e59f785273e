"""Checks of resident ID numbers (GB 11643-1999) and phone numbers, and their display masks.

The check digit and the embedded birth date are errors; an area code the check does not know is
not, because retired codes (Guangping was 132127 before 1993) are still on valid cards.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

__all__ = [
    "check_digit",
    "check_phone",
    "check_resident_id",
    "id_birth_date",
    "id_sex_is_male",
    "looks_personal",
    "mask_phone",
    "mask_resident_id",
    "normalize_digits",
    "shown_key",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}")
# A run of digits as long as a mobile number or an ID number (with its check character), once
# the separators people write inside numbers are taken out; or a number written with hyphens.
_PERSONAL = re.compile(
    r"[0-9]{11,}|[0-9]{14,17}[Xx]|1[3-9][0-9]-[0-9]{4}-[0-9]{4}"
    r"|0[1-9][0-9]{1,2}-[1-9][0-9]{6,7}|[0-9]{6}-[0-9]{8}-[0-9]{3}[0-9Xx]"
)
# Spaces, dots, brackets and the Unicode dashes (not the ASCII hyphen, common in keys).
#: No pattern of :data:`_PERSONAL` matches fewer digits (a landline: 3 + 7).
_FEWEST_DIGITS = 10
_SEPARATORS = re.compile(r"[\s.()（）\u2010-\u2015\u2212\uff0d]")


def normalize_digits(text: str) -> str:
    """Full-width digits and letters to ASCII (NFKC), surrounding spaces trimmed.

    >>> normalize_digits("１３８１２３４５６７８ ")
    '13812345678'
    """
    return unicodedata.normalize("NFKC", text).strip()


def check_resident_id(value: str) -> str | None:
    """``None`` when ``value`` is a well-formed 18-character resident ID, else an error code.

    Codes: ``id_format`` (not 17 digits and a digit or X), ``id_birth_date`` (positions 7–14 are
    no real date), ``id_check_digit`` (ISO 7064 MOD 11-2 fails). A lower-case ``x`` is accepted.
    Whether the birth date lies in the future needs today's date: see
    :func:`leftbehind.domain.validate.check_child`.
    """
    text = value.upper()
    if not _ID.fullmatch(text):
        return "id_format"
    if id_birth_date(text) is None:
        return "id_birth_date"
    if check_digit(text[:17]) != text[17]:
        return "id_check_digit"
    return None


def check_digit(body: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits of an ID.

    >>> check_digit("11010519491231002")
    'X'
    """
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_birth_date(value: str) -> date | None:
    """The birth date written in positions 7–14 of an ID, or ``None`` if it is no date."""
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_sex_is_male(value: str) -> bool:
    """The 17th character is odd for men and even for women."""
    return int(value[16]) % 2 == 1


def looks_personal(text: str) -> bool:
    """Whether a key looks like (or holds) a resident ID number or a phone number.

    Keys travel into audit entries and error messages, so such a key is refused on write and
    never repeated in a message.

    >>> looks_personal("S001-00012"), looks_personal("130432201503120018")
    (False, True)
    >>> looks_personal("c-13812345678"), looks_personal("(0310) 123 4567")
    (True, True)
    """
    if text.isascii() and sum(ch.isdigit() for ch in text) < _FEWEST_DIGITS:
        return False
    folded = "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in normalize_digits(text)
    )
    return _PERSONAL.search(_SEPARATORS.sub("", folded)) is not None


def shown_key(key: str) -> str:
    """``key`` as a message may show it: a key that looks personal becomes ``<redacted>``."""
    return "<redacted>" if looks_personal(key) else key


def check_phone(value: str) -> str | None:
    """``None`` for a mainland mobile (optionally +86) or a landline with area code.

    Anything else gives the code ``phone_format``. Spaces are ignored; the value is not echoed.
    """
    text = value.replace(" ", "")
    if _MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text):
        return None
    return "phone_format"


def mask_phone(value: str) -> str:
    """``13812341234`` → ``138****1234``; other lengths keep only the last four characters."""
    text = value.replace(" ", "")
    if text.startswith("+86"):
        text = text[3:]
    if len(text) == 11:
        return f"{text[:3]}****{text[-4:]}"
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def mask_resident_id(value: str) -> str:
    """Hide the birth digits and the order code.

    ``130432***********X`` keeps the area code and the check digit only.
    """
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}***{value[17]}"
