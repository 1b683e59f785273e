"""The catalogs: every message in every language, compiled as shipped, and every label the
library asks for known to each."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import leftbehind
from leftbehind.access import ActorKind, Field
from leftbehind.domain import i18n
from leftbehind.domain.duties import DEFAULT_KINDS, Frequency, Method, Status, WindowKind
from leftbehind.domain.eligibility import Category
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.ledger_facts import MoveReason
from leftbehind.domain.model import Health, LeaveReason, ParentRole, Sex, Stage
from leftbehind.domain.people import Role
from leftbehind.domain.phases import Phase, milestones
from leftbehind.domain.profile import ProfileArea
from leftbehind.sample import sample_county

LOCALE = Path(leftbehind.__file__).parent / "locale"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogs() -> Iterator[tuple[str, str, Path]]:
    for lang in i18n.LANGUAGES:
        for po in sorted((LOCALE / lang / "LC_MESSAGES").glob("*.po")):
            yield lang, po.stem, po


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def test_every_language_has_the_same_catalogs_and_messages() -> None:
    domains: dict[str, dict[str, set[str]]] = {}
    for lang, domain, path in catalogs():
        ids = {str(m.id) for m in read(path) if m.id}
        domains.setdefault(domain, {})[lang] = ids
    assert "leftbehind" in domains
    for domain, by_lang in domains.items():
        assert set(by_lang) == set(i18n.LANGUAGES), domain
        first = by_lang[i18n.DEFAULT]
        for lang, ids in by_lang.items():
            assert ids == first, (domain, lang, sorted(ids ^ first)[:10])


@pytest.mark.parametrize(("lang", "domain", "path"), list(catalogs()), ids=lambda v: str(v))
def test_each_catalog_is_translated_and_compiled_as_shipped(
    lang: str, domain: str, path: Path
) -> None:
    """No message left empty or fuzzy, the same {placeholders} as the default language's, and
    the .mo beside the .po holds exactly its messages (run `nox -s locale` after editing)."""
    catalog = read(path)
    default = read(LOCALE / i18n.DEFAULT / "LC_MESSAGES" / path.name)
    for message in catalog:
        if not message.id:
            continue
        assert message.string, (lang, domain, message.id)
        assert not message.fuzzy, (lang, domain, message.id)
        want = set(_PLACEHOLDER.findall(str(default[message.id].string)))
        assert set(_PLACEHOLDER.findall(str(message.string))) == want, (lang, message.id)
    with path.with_suffix(".mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    shipped = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert shipped == {str(m.id): str(m.string) for m in catalog if m.id}


def label_keys() -> list[str]:
    """Every label key the domain asks the catalogs for."""
    keys = [f"category.{c.value}" for c in Category]
    for prefix, members in (
        ("sex", Sex),
        ("stage", Stage),
        ("health", Health),
        ("parent", ParentRole),
        ("leave", LeaveReason),
        ("role", Role),
        ("move", MoveReason),
        ("area", ProfileArea),
        ("frequency", Frequency),
        ("window", WindowKind),
        ("method", Method),
        ("status", Status),
        ("phase", Phase),
        ("field", Field),
    ):
        keys += [f"{prefix}.{m.value}" for m in members]
    keys += [f"phase.{p.value}.expects" for p in Phase]
    keys += [f"duty.{k.code}" for k in DEFAULT_KINDS]
    keys += [f"milestone.{m.code}" for m in milestones(2026)]
    keys += [f"actor.{k}" for k in ("county_officer", "township_officer", "school_head")]
    keys += [f"state.{s}" for s in ("home", "away", "deceased", "missing", "divorced_out")]
    keys += [f"state.{s}" for s in ("unknown", "unrecorded", "no_capacity")]
    return keys


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_label_is_known_in_every_language(lang: str) -> None:
    with i18n.use(lang):
        for key in label_keys():
            assert i18n.text(key) != key, (lang, key)
        assert all(k.label != f"actor.{k.value}" for k in ActorKind)


def test_labels_speak_the_language_of_the_moment() -> None:
    assert Category.ORPHAN.label == "孤儿"
    with i18n.use("zh-Hant"):
        assert Category.ORPHAN.label == "孤兒"
        with i18n.use("en"):
            assert Role.PROXY_PARENT.label == "proxy parent"
        assert Role.PROXY_PARENT.label == "代管家長"
    assert Role.PROXY_PARENT.label == "代管家长"
    with pytest.raises(ValueError, match="zh_CN, zh_TW, en"):
        i18n.check_language("fr")


def test_a_county_chooses_its_language_and_a_handle_or_the_environment_may_ask_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEFTBEHIND_LANG", raising=False)
    actor = leftbehind.Actor.system("tests")
    sample = sample_county()
    with leftbehind.open("memory://lang", actor=actor, today=lambda: sample.as_of) as county:
        county.put_schools(sample.schools)
        county.put_children(sample.children)
        assert county.language == "zh_CN"
        assert county.set_language("zh-Hant") == "zh_TW"
        assert county.language == "zh_TW"
        with leftbehind.use(county.language):
            assert Category.LEFT_BEHIND_BOTH.label == "雙親外出留守"
        assert [e.op for e in county.audit()][-1] == "set_language"
        with pytest.raises(ValidationError) as caught:
            county.set_language("fr")
        assert caught.value.codes == {"language"}
        monkeypatch.setenv("LEFTBEHIND_LANG", "en")
        assert county.language == "en"
        with leftbehind.open("memory://lang", actor=actor, language="zh_CN") as other:
            assert other.language == "zh_CN"
