"""The one converter between domain values and JSON documents, strict both ways.

Structuring accepts exactly what :func:`unstructure` produces and nothing looser: a ``str`` must
be a string, an ``int`` an integer (not a bool, not ``1.9``), a ``bool`` a bool, a date the string
``YYYY-MM-DD`` naming a real day, an enum its value, a tuple a list (never a string), and an
object only the fields of its class (``unknown_field`` otherwise, so typos are caught). Text must
be valid Unicode without control or bidirectional-override characters and at most
:data:`MAX_TEXT` characters. Resident ID numbers and phones are normalised (full-width digits to
ASCII) and checked as they are read.

Every bad field is collected. Then the cross-field checks of :mod:`leftbehind.domain.validate`
run (those that need today's date only when ``today`` is given) over everything that could be
read — a bad resident ID or phone does not stop them, and a part cut out for a bad field is left
out of them — and one :class:`~leftbehind.domain.errors.ValidationError` lists everything, each
issue with a path (``children[3].father.phone``) and a stable code, never the rejected value.

Codes of the reading itself: ``type`` (wrong JSON type), ``date_format`` (not ``YYYY-MM-DD``),
``date_invalid`` (no such day), ``choice`` (not one of an enum's values), ``text_too_long``,
``text_control``, ``text_encoding``, ``text_noncharacter``, ``text_invisible`` (only zero-width
or format characters and spaces), ``unknown_field``, ``required`` (a field without default is
absent), ``json``, ``encoding`` and ``duplicate_key`` (unreadable text), ``invalid`` (anything
else); a resident ID or phone gives the codes of :mod:`leftbehind.domain.validate` directly.

>>> from datetime import date
>>> from leftbehind.domain.model import Child
>>> doc = {"id": "c1", "name": "小明", "sex": "male", "birth_date": "2016-02-30"}
>>> structure(doc, Child, path="children[0]")
Traceback (most recent call last):
    ...
leftbehind.domain.errors.ValidationError: Child has 1 problem:
  - children[0].birth_date: not a real calendar date [date_invalid]
"""

from __future__ import annotations

import copy
import enum
import json
import re
import typing
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import attrs
from cattrs import Converter
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from leftbehind.domain import ids
from leftbehind.domain.eligibility import Category
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.model import Child, Guardian, Parent, School
from leftbehind.domain.validate import MESSAGES, WARNING_CODES, check_child, check_school, join_path

__all__ = [
    "MAX_TEXT",
    "converter",
    "from_json",
    "structure",
    "structure_trusted",
    "to_json",
    "unstructure",
]

T = TypeVar("T")

MAX_TEXT = 2000
"""The longest text accepted in any field, in characters."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Unicode noncharacters (U+FDD0–U+FDEF and the last two code points of every plane): never
#: text, and U+FFFE/U+FFFF cannot be written in an XML workbook.
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"\\U{p:04x}fffe\\U{p:04x}ffff" for p in range(1, 17))
    + "]"
)
#: Format characters that show nothing (zero-width space and joiners, the byte order mark,
#: soft hyphen, ...): a text of these and spaces alone looks empty but is not.
_ZERO_WIDTH = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"
_INVISIBLE = re.compile(f"[\\s{_ZERO_WIDTH}]*[{_ZERO_WIDTH}][\\s{_ZERO_WIDTH}]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class _FieldError(ValueError):
    """A value that broke a rule: a code and a message, never the value itself."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _type_error(expected: str) -> _FieldError:
    return _FieldError("type", f"expected {expected}")


# ---------------------------------------------------------------------------------------------
# Strict hooks for the leaves.


def _str(value: object, _: object = None) -> str:
    if type(value) is not str:
        raise _type_error("a string")
    if len(value) > MAX_TEXT:
        raise _FieldError("text_too_long", f"longer than {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise _FieldError("text_control", "contains a control or bidi-override character")
    if not value.isascii():
        if _SURROGATE.search(value):
            raise _FieldError("text_encoding", "contains a lone surrogate (not valid Unicode)")
        if _NONCHARACTER.search(value):
            raise _FieldError("text_noncharacter", "contains a Unicode noncharacter")
        if _INVISIBLE.fullmatch(value):
            raise _FieldError(
                "text_invisible", "shows nothing: only spaces or invisible characters"
            )
    return value


def _int(value: object, _: object = None) -> int:
    if type(value) is not int:
        raise _type_error("an integer")
    return value


def _bool(value: object, _: object = None) -> bool:
    if type(value) is not bool:
        raise _type_error("true or false")
    return value


def _date(value: object, _: object = None) -> date:
    if type(value) is not str:
        raise _type_error("a date written YYYY-MM-DD")
    if not _DATE.fullmatch(value):
        raise _FieldError("date_format", "expected a date written YYYY-MM-DD")
    try:
        return date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        raise _FieldError("date_invalid", "not a real calendar date") from None


def _resident_id(value: object, _: object = None) -> str:
    text = ids.normalize_digits(_str(value)).upper()
    if text and (code := ids.check_resident_id(text)) is not None:
        raise _FieldError(code, MESSAGES[code])
    return text


def _phone(value: object, _: object = None) -> str:
    text = ids.normalize_digits(_str(value))
    if text and ids.check_phone(text) is not None:
        raise _FieldError("phone_format", MESSAGES["phone_format"])
    return text


def _any_resident_id(value: object, _: object = None) -> str:
    """As :func:`_resident_id` normalises it, unchecked (for what is read of a rejected
    document: its own checks were reported already)."""
    return ids.normalize_digits(_str(value)).upper()


def _any_phone(value: object, _: object = None) -> str:
    return ids.normalize_digits(_str(value))


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


def _enum_hook(t: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    members = {m.value: m for m in t}
    choices = ", ".join(str(v) for v in members)

    def hook(value: object, _: object = None) -> enum.Enum:
        if type(value) is not str or value not in members:
            raise _FieldError("choice", f"expected one of: {choices}")
        return members[value]

    return hook


def _sequence_of(t: Any) -> tuple[Any, Any] | None:
    """``(origin, item type)`` for ``tuple[X, ...]``, ``list[X]`` and ``frozenset[X]``."""
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple, args[0]
    if origin in (list, frozenset) and len(args) == 1:
        return origin, args[0]
    return None


def _sequence_hook(t: Any, conv: Converter) -> Callable[[object, object], object]:
    shape = _sequence_of(t)
    assert shape is not None  # noqa: S101 - guaranteed by the predicate
    origin, item = shape
    item_hook = conv.get_structure_hook(item)

    def hook(value: object, _: object = None) -> object:
        if type(value) is not list and type(value) is not tuple:
            raise _type_error("a list")
        out: list[object] = []
        errors: list[Exception] = []
        for i, x in enumerate(value):
            try:
                out.append(item_hook(x, item))
            except Exception as e:
                note = IterableValidationNote(f"item {i}", i, item)
                e.__notes__ = [*getattr(e, "__notes__", []), note]
                errors.append(e)
        if errors:
            raise IterableValidationError("invalid items", errors, t)
        return origin(out)

    return hook


def _class_hook_factory(
    *, salvage: bool
) -> Callable[[type[Any], Converter], Callable[[object, object], object]]:
    """Objects of attrs classes: only their own fields, resident IDs and phones checked as they
    are read — except when ``salvage`` reads what is left of a rejected document (see
    :func:`_salvage`), where extra fields are ignored and IDs and phones are any text."""

    def factory(cl: type[Any], conv: Converter) -> Callable[[object, object], object]:
        overrides: dict[str, Any] = {}
        if cl is Child:
            read_id = _any_resident_id if salvage else _resident_id
            overrides["resident_id"] = override(struct_hook=read_id)
        if cl in (Parent, Guardian):
            overrides["phone"] = override(struct_hook=_any_phone if salvage else _phone)
        inner = make_dict_structure_fn(
            cl,
            conv,
            _cattrs_forbid_extra_keys=not salvage,
            _cattrs_detailed_validation=True,
            **overrides,
        )
        name = cl.__name__

        def hook(value: object, _: object = None) -> object:
            if type(value) is not dict:
                raise _type_error(f"an object ({name})")
            return inner(value, cl)

        return hook

    return factory


def _unstructure_category_set(value: frozenset[Category]) -> list[str]:
    return sorted(c.value for c in value)


def _make_converter(*, salvage: bool = False) -> Converter:
    conv = Converter(detailed_validation=True, forbid_extra_keys=not salvage)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(date, _date)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook_factory(_is_enum, _enum_hook)
    conv.register_unstructure_hook_func(_is_enum, lambda e: e.value)
    conv.register_structure_hook_factory(lambda t: _sequence_of(t) is not None, _sequence_hook)
    conv.register_unstructure_hook_func(
        lambda t: t == frozenset[Category], _unstructure_category_set
    )
    conv.register_structure_hook_factory(attrs.has, _class_hook_factory(salvage=salvage))
    return conv


converter: Converter = _make_converter()
"""The converter for every stored domain value (School, Child and its parts, Timeline, Decision)."""

_salvaging: Converter = _make_converter(salvage=True)


def _make_trusted_converter() -> Converter:
    conv = Converter(detailed_validation=False)
    conv.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
    return conv


_trusted: Converter = _make_trusted_converter()


# ---------------------------------------------------------------------------------------------
# Errors: walk cattrs' exception groups into issues with paths.


def _walk(exc: BaseException, path: str, out: list[Issue]) -> None:
    if isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            _walk(sub, join_path(path, note.name), out)
        for sub in others:
            _walk(sub, path, out)
    elif isinstance(exc, IterableValidationError):
        items, others = exc.group_exceptions()
        for sub, inote in items:
            index = inote.index
            _walk(sub, join_path(path, index if isinstance(index, int) else str(index)), out)
        for sub in others:
            _walk(sub, path, out)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(str(k) for k in exc.extra_fields):
            shown = key if _KEY.fullmatch(key) else "<key>"
            message = f"not a field of {exc.cl.__name__}"
            out.append(Issue(join_path(path, shown), "unknown_field", message))
    elif isinstance(exc, _FieldError):
        out.append(Issue(path, exc.code, exc.message))
    elif isinstance(exc, KeyError):
        out.append(Issue(path, "required", "a required field is missing"))
    else:
        out.append(Issue(path, "invalid", "could not be read"))


_PART = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


def _segments(path: str) -> list[str | int]:
    """``father.absences[1].end`` → ``["father", "absences", 1, "end"]``."""
    return [name or int(index) for name, index in _PART.findall(path)]


def _cut(doc: dict[str, Any], segments: list[str | int]) -> str | None:
    """Remove what ``segments`` points at from ``doc``, so that the rest may still be read: a
    field of an object is removed (its default then stands); an item of a list takes the whole
    list with it (the other items keep their indexes only if none is removed). Returns the
    top-level field under which something was cut, or ``None`` when nothing could be."""
    while segments:
        *parents, last = segments
        holder: Any = doc
        for segment in parents:
            try:
                holder = holder[segment]
            except (KeyError, IndexError, TypeError):
                return None
        if isinstance(last, str) and isinstance(holder, dict) and last in holder:
            del holder[last]
            return str(segments[0])
        segments = parents  # a list item, or a field already gone: cut what holds it
    return None


def _salvage(data: object, cls: type[T]) -> tuple[T, set[str]] | None:
    """What can be read of a document the strict reading rejected: the bad fields cut out one
    by one until the rest reads (IDs and phones taken as any text, unknown fields ignored).
    Returns the value and the top-level fields under which something was cut, or ``None`` when
    a field nothing can stand in for (an id, a name, a birth date) is bad."""
    if type(data) is not dict:
        return None
    try:
        doc = copy.deepcopy(data)
    except RecursionError:
        return None
    cut: set[str] = set()
    for _ in range(64):
        try:
            return _salvaging.structure(doc, cls), cut
        except RecursionError:
            return None
        except Exception as exc:
            found: list[Issue] = []
            _walk(exc, "", found)
            progress = False
            for issue in found:
                segments = _segments(issue.path)
                if issue.code == "required":  # the field is gone already: cut its holder
                    segments = segments[:-1]
                where = _cut(doc, segments) if segments else None
                if where is not None:
                    cut.add(where)
                    progress = True
            if not progress:
                return None
    return None


def _inside(path: str, prefix: str, fields: set[str]) -> bool:
    """Whether the issue at ``path`` lies under one of the top-level ``fields``."""
    relative = path[len(prefix) :].lstrip(".") if path.startswith(prefix) else path
    segments = _segments(relative)
    return bool(segments) and str(segments[0]) in fields


def _cross_checks(obj: object, today: date | None, path: str) -> list[Issue]:
    if isinstance(obj, Child):
        return check_child(obj, today=today, path=path)
    if isinstance(obj, School):
        return check_school(obj, today=today, path=path)
    return []


# ---------------------------------------------------------------------------------------------
# The public functions.


def structure(
    data: object,
    cls: type[T],
    *,
    today: date | None = None,
    path: str = "",
    warnings: list[Issue] | None = None,
) -> T:
    """Build ``cls`` from JSON-like ``data``, or raise :class:`~leftbehind.errors.ValidationError`.

    ``path`` prefixes every issue's path (``"children[3]"``). With ``today`` the checks of future
    dates run too. Doubtful facts that may still be stored (see
    :data:`~leftbehind.domain.validate.WARNING_CODES`) do not raise; they are appended to
    ``warnings`` when a list is given.
    """
    issues: list[Issue] = []
    try:
        obj: T = converter.structure(data, cls)
    except RecursionError:
        issue = Issue(path, "invalid", "nested too deeply")
        raise ValidationError([issue], subject=cls.__name__) from None
    except Exception as exc:
        _walk(exc, path, issues)
        # Every problem at once: the cross-field checks run over what could still be read,
        # but not inside a part cut out for a bad field (its defaults would mislead them).
        salvaged = _salvage(data, cls)
        if salvaged is not None:
            seen = {(i.path, i.code) for i in issues}
            value, cut = salvaged
            issues.extend(
                i
                for i in _cross_checks(value, today, path)
                if i.code not in WARNING_CODES
                and (i.path, i.code) not in seen
                and not _inside(i.path, path, cut)
            )
        raise ValidationError(issues, subject=cls.__name__) from None
    found = _cross_checks(obj, today, path)
    errors = [i for i in found if i.code not in WARNING_CODES]
    if errors:
        raise ValidationError(errors, subject=cls.__name__)
    if warnings is not None:
        warnings.extend(i for i in found if i.code in WARNING_CODES)
    return obj


def structure_trusted(data: object, cls: type[T]) -> T:
    """Build ``cls`` from a document this library wrote and validated itself.

    Stored documents were checked by :func:`structure` on their way in, so reading them back
    skips the strict hooks and the cross-field checks. Never call it on input from outside.
    """
    return _trusted.structure(data, cls)


def unstructure(obj: object) -> Any:
    """The JSON-compatible form of a domain value: dicts, lists, strings, ints, bools, None."""
    return converter.unstructure(obj)


def to_json(obj: object) -> str:
    """Deterministic JSON text: sorted keys, UTF-8 characters unescaped (中文 stays 中文)."""
    return json.dumps(
        unstructure(obj), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _FieldError("duplicate_key", "an object names the same field twice")
    return out


def from_json(
    text: str | bytes,
    cls: type[T],
    *,
    today: date | None = None,
    path: str = "",
    warnings: list[Issue] | None = None,
) -> T:
    """Parse JSON text and :func:`structure` it; unreadable text is a ``ValidationError`` too."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _FieldError as exc:
        raise ValidationError([Issue(path, exc.code, exc.message)], subject=cls.__name__) from None
    except UnicodeDecodeError:
        issue = Issue(path, "encoding", "the text is not valid UTF-8")
        raise ValidationError([issue], subject=cls.__name__) from None
    except (ValueError, RecursionError):
        issue = Issue(path, "json", "not valid JSON")
        raise ValidationError([issue], subject=cls.__name__) from None
    return structure(data, cls, today=today, path=path, warnings=warnings)
