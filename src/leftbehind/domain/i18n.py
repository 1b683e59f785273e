"""Languages (語言): what a person reads is in Simplified Chinese by default, Traditional
Chinese or English on request.

Everything leftbehind writes for a person — labels, form titles and headers, reasons, messages
of the command line — is looked up by a stable key (``category.orphan``) or an English message
in the gettext catalogs shipped with the package (``leftbehind/locale/<language>/LC_MESSAGES/
<domain>.mo``), in the language of the moment. Identifiers, error codes and JSON keys never
change with the language.

The language of the moment is a context variable, so that two threads (or two requests of a
county app) may speak different languages: :func:`use` sets it for a block, :func:`language`
reads it. A county's handle speaks the county's language; the command line takes ``--lang`` or
``$LEFTBEHIND_LANG``.

>>> from leftbehind.domain.i18n import text, use
>>> text("category.orphan")
'孤儿'
>>> with use("zh_TW"):
...     text("category.orphan")
'孤兒'
>>> with use("en"):
...     text("category.orphan")
'orphan'
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources

__all__ = [
    "DEFAULT",
    "DOMAINS",
    "LANGUAGES",
    "catalog",
    "check_language",
    "language",
    "text",
    "use",
]

#: The languages a person may read: Simplified Chinese (the default: Hebei writes it),
#: Traditional Chinese and English.
LANGUAGES: tuple[str, ...] = ("zh_CN", "zh_TW", "en")
DEFAULT = "zh_CN"

#: The catalogs of each language, one per part of the package (each part keeps its own, so
#: that they are edited apart): the domain's labels and sentences, the printed forms, the
#: roster's sheets, the command line.
DOMAINS: tuple[str, ...] = ("leftbehind", "forms", "roster", "cli")

_ALIASES = {
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh_hans": "zh_CN",
    "zh_sg": "zh_CN",
    "zh_tw": "zh_TW",
    "zh_hant": "zh_TW",
    "zh_hk": "zh_TW",
    "zh_mo": "zh_TW",
    "en": "en",
}

_current: ContextVar[str] = ContextVar("leftbehind_language", default=DEFAULT)


def check_language(value: str) -> str:
    """The language named by ``value`` (``zh_CN``, ``zh-CN``, ``zh-Hans``, ``zh_TW``,
    ``zh-Hant``, ``en``, ``en_US`` …), or a :class:`ValueError` listing the choices."""
    tag = value.strip().replace("-", "_").lower().partition(".")[0]
    found = _ALIASES.get(tag) or ("en" if tag.startswith("en_") else None)
    if found is None:
        msg = f"no language {value!r}: choose {', '.join(LANGUAGES)}"
        raise ValueError(msg)
    return found


def language() -> str:
    """The language of the moment (:data:`DEFAULT` unless :func:`use` says otherwise)."""
    return _current.get()


@contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` in the block (``None``: go on with the language of the moment)."""
    if lang is None:
        yield _current.get()
        return
    token = _current.set(check_language(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """Every catalog of ``lang``, one after the other (missing ones are skipped)."""
    found: gettext.NullTranslations | None = None
    folder = resources.files("leftbehind") / "locale" / lang / "LC_MESSAGES"
    for domain in DOMAINS:
        part = folder / f"{domain}.mo"
        if not part.is_file():
            continue
        with part.open("rb") as f:
            translations = gettext.GNUTranslations(f)
        if found is None:
            found = translations
        else:
            found.add_fallback(translations)
    return found or gettext.NullTranslations()


def text(key: str, /, **params: object) -> str:
    """``key`` (a label key or an English message) in the language of the moment, with
    ``params`` put into its ``{placeholders}``. A key no catalog knows comes back as itself."""
    found = catalog(_current.get()).gettext(key)
    return found.format(**params) if params else found
