"""The allowed values of profile fields, shared by the forms and the API."""

from __future__ import annotations

import unicodedata
import zoneinfo
from functools import lru_cache
from typing import Any

import pycountry
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from learning.auth.models import ORGANISATION_TYPES

ORGANISATION_TYPE_LABELS = {
    "ministry_of_transport": _l("Ministry of transport"),
    "maritime_administration": _l("Maritime administration"),
    "port_authority": _l("Port authority"),
    "customs": _l("Customs"),
    "other": _l("Other"),
}
assert set(ORGANISATION_TYPE_LABELS) == set(ORGANISATION_TYPES)

# Languages of ESCAP member States and of the courses, by ISO 639-1 code.
LANGUAGE_CODES = (
    "en",
    "ar",
    "bn",
    "dz",
    "fa",
    "fj",
    "fr",
    "hi",
    "hy",
    "id",
    "ja",
    "ka",
    "kk",
    "km",
    "ko",
    "ky",
    "lo",
    "mi",
    "mn",
    "ms",
    "my",
    "ne",
    "ps",
    "ru",
    "si",
    "sm",
    "ta",
    "tg",
    "th",
    "tk",
    "to",
    "tr",
    "ur",
    "uz",
    "vi",
    "zh",
)


@lru_cache(maxsize=1)
def countries() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes and names, sorted by name."""
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda item: item[1])


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


def country_name(code: str | None) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


@lru_cache(maxsize=1)
def languages() -> list[tuple[str, str]]:
    result = []
    for code in LANGUAGE_CODES:
        language = pycountry.languages.get(alpha_2=code)
        result.append((code, language.name if language else code))
    return result


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    """IANA time zone names (from the tzdata package where the system has none)."""
    return sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


@lru_cache(maxsize=1)
def timezone_set() -> frozenset[str]:
    return frozenset(timezones())


def clean_text(value: str) -> str:
    """Normalise to NFC and trim; control characters (CR, LF, NUL ...) are the caller's to refuse."""
    return unicodedata.normalize("NFC", value).strip()


def has_control_characters(value: str) -> bool:
    # each distinct character once: a megabyte of one letter took a quarter of a second character by
    # character, and takes 10 ms as a set (found by the form fuzzer's CPU profile)
    return any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200c\u200d"
        for ch in set(value)
    )


def options(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    """WTForms select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
