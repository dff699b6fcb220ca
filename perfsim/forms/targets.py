"""Targets (年度指标值) and actuals (实际完成值) as bureaus write them, read into numbers.

One function, :func:`read_value`, turns a cell into a :class:`Reading`:

- **numbers** with an operator (symbols ≥ ≤ = > <, words before the number 不低于 不少于 达到
  不高于 不超过 不大于 控制在, words after it 以上 以内 以下; a closing （含） read past) and a
  unit (%, ‰, 元, 万元, 亿元, 亩, 万亩, 台（套）, 人次, 天, km, 元/亩, a unit in brackets 3（个）,
  a known unit per anything 元/人·次 …), converted to the unit's base (万亩 → 亩, 万元 → 元,
  ‰ → %); a word with a time in it (12月底前: a deadline without its year) is not a unit;
  a bare number ("100%") carries no operator (a target reads it as 达到, at least);
- **dates and deadlines**: 2023年10月底前 (on or before 31 October 2023), 2023年12月31日前,
  2023年底前 and 2023年度内 (on or before 31 December 2023),
  2023年9月 (a month alone is its last day), and dates typed as dates;
- **yes/no**: 是/否, 建立/未建立, 完成/未完成, 按期完成/未按期完成 …;
- **qualitative levels** (好/较好/一般/差, 有效提升/明显改善/部分改善/基本达成 …) with their
  coefficient from one editable table (``datasets/forms/levels.yaml``, :func:`load_levels`);
- anything else stays **text** (``kind == "text"``): the review lists it, nothing scores it as
  zero. Empty cells and placeholders ("/", "……") are ``blank``.

The words and units are the forms' one vocabulary (:mod:`perfsim.forms.vocabulary`).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfsim.errors import InputError
from perfsim.forms import vocabulary as V
from perfsim.io import PROJECT_ROOT, check_mapping, read_yaml

KINDS = ("number", "date", "yesno", "level", "blank", "text")
DATE_UNIT = "date"  # a date's value is its proleptic Gregorian ordinal (datetime.date.toordinal)


@dataclass(frozen=True)
class Reading:
    """A target or an actual as read. ``value`` is in the base ``unit`` (numbers), a date's
    ordinal (``unit == "date"``), 1.0 / 0.0 (yes/no) or the level's coefficient in [0, 1]
    (levels); None for blank and text. ``op`` is ``>=``, ``<=``, ``=``, ``>``, ``<`` or None."""

    text: str
    kind: str
    op: str | None = None
    value: float | None = None
    unit: str = ""
    factor: float = 1.0  # the written unit in the base unit (万亩: 10,000 亩)

    @property
    def readable(self) -> bool:
        return self.kind not in ("blank", "text")


_FULLWIDTH = str.maketrans("０１２３４５６７８９．，：　", "0123456789.,: ")
_TRIM = " \t\r\n。；;，,、"
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(?:(\d{1,2})[日号])?(底|末)?(前|之前|以前)?"
                   r"(?:完成|完工|前完成)?$")
#: a year's deadline: 2023年底前, 2023年度内, 2023年内完成 (its last day)
_YEAR_END = re.compile(r"^(\d{4})年(?:度)?(?:底|末|内|度内)(前|之前|以前)?(?:完成|完工)?$")
#: what makes the rest of a value a time, not a unit (12月底前 is a deadline without a year)
_TIME_WORDS = re.compile(r"[年月日号前后底末季]")
#: a month, a day or a quarter with no year before it (12月底前, 10月31日前, 第三季度前): a
#: deadline whose year is not written, which stays text
YEARLESS_DEADLINE = re.compile(r"^(?!.*\d{4}\s*年)(?:\d{1,2}月|.*季度)")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(前|之前|以前)?$")


def plain(x: float) -> str:
    """A number as text without scientific notation or binary noise: 1234567 → "1234567",
    0.07 × 100 → "7", 95.5 → "95.5"."""
    return f"{x:.12g}" if abs(x) < 1e12 else f"{x:.0f}"


def clean(text: Any) -> str:
    """A cell's text with spaces, line breaks and full-width digits normalised."""
    if text is None:
        return ""
    s = str(text).translate(_FULLWIDTH)
    return re.sub(r"\s+", "", s).strip(_TRIM)


def _by_length(words: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(words.items(), key=lambda kv: -len(kv[0]))


_PREFIXES = _by_length({**V.OPERATOR_SYMBOLS, **V.OPERATOR_PREFIXES})
_SUFFIXES = _by_length(V.OPERATOR_SUFFIXES)


def _unit(written: str) -> tuple[str, float] | None:
    """(base unit, factor) of a unit as written; an unknown short word is its own unit; None
    when the rest of the text is not a unit (a sentence)."""
    if written == "":
        return "", 1.0
    if written in V.UNITS:
        return V.UNITS[written]
    inner = re.fullmatch(r"[（(](.+)[）)]", written)   # 3（个）: the unit in brackets
    if inner:
        return _unit(inner.group(1)) if inner.group(1) else None
    head, slash, per = written.partition("/")
    if slash and head in V.UNITS and _word(per):   # 1.5元/人·次, 2万元/公里
        base, factor = V.UNITS[head]
        return f"{base}/{per}", factor
    if _word(written) and not _TIME_WORDS.search(written):
        return written, 1.0
    return None


def _word(written: str) -> bool:
    """Whether ``written`` can be an unknown unit: a short word without digits, signs or
    punctuation."""
    return 0 < len(written) <= 4 and not re.search(r"[\d%％‰<>=≥≤。，,；;：:（）()/]", written)


def _date(y: int, m: int, d: int | None) -> float | None:
    if not (1 <= m <= 12):
        return None
    last = calendar.monthrange(y, m)[1]
    day = last if d is None else d
    if not (1 <= day <= last):
        return None
    return float(dt.date(y, m, day).toordinal())


def read_value(cell: Any, levels: Mapping[str, float], *, percent: bool = False) -> Reading:
    """Read one target or actual cell. ``cell`` is the cell's value (text, a number, a date);
    ``percent`` says the cell is a number formatted as a percentage (0.95 shown as 95%);
    ``levels`` maps qualitative levels to coefficients (:func:`load_levels`)."""
    if isinstance(cell, bool):
        return Reading(str(cell), "yesno", "=", 1.0 if cell else 0.0)
    if isinstance(cell, dt.datetime | dt.date):
        day = cell.date() if isinstance(cell, dt.datetime) else cell
        return Reading(day.isoformat(), "date", None, float(day.toordinal()), DATE_UNIT)
    if isinstance(cell, int | float):
        if not math.isfinite(cell):
            return Reading(str(cell), "text")
        if percent:
            return Reading(f"{plain(cell * 100)}%", "number", None, float(cell) * 100.0, "%")
        return Reading(plain(cell), "number", None, float(cell), "")
    text = clean(cell)
    if text in V.PLACEHOLDERS:
        return Reading(text, "blank")
    return _read_text(text, levels)


def _read_text(text: str, levels: Mapping[str, float]) -> Reading:
    for mark in V.INCLUSIVE_MARKS:   # read without the mark, shown as written
        if text.endswith(mark) and len(text) > len(mark):
            return dataclasses.replace(_read_text(text[:-len(mark)], levels), text=text)
    end = _YEAR_END.match(text)
    if end:
        return Reading(text, "date", "<=", _date(int(end.group(1)), 12, None), DATE_UNIT)
    m = _DATE.match(text) or _ISO_DATE.match(text)
    if m:
        groups = m.groups()
        day = int(groups[2]) if groups[2] else None
        value = _date(int(groups[0]), int(groups[1]), day)
        if value is not None:
            before = groups[-1] is not None
            return Reading(text, "date", "<=" if before else None, value, DATE_UNIT)
    for word in V.NO_WORDS:
        if text == word:
            return Reading(text, "yesno", "=", 0.0)
    for word in V.YES_WORDS:
        if text == word:
            return Reading(text, "yesno", "=", 1.0)
    if text in levels:
        return Reading(text, "level", None, float(levels[text]))
    return _read_number(text)


def _read_number(text: str) -> Reading:
    rest, op = re.sub(V.NAMED_BEFORE_OPERATOR, "", text), None
    for word, sym in _PREFIXES:
        if rest.startswith(word):
            rest, op = rest[len(word):], sym
            break
    if op is None:
        rest = next((rest[len(w):] for w in V.ABOUT_PREFIXES if rest.startswith(w)), rest)
    m = _NUMBER.match(rest)
    if not m:
        return Reading(text, "text")
    number = float(m.group(0).replace(",", ""))
    rest = rest[m.end():]
    about = re.fullmatch(V.ABOUT_SUFFIX, rest)   # 1200余公里, 1.2万余亩: the unit read past it
    if about:
        rest = (about.group(1) or "") + about.group(2)
    for word, sym in _SUFFIXES:
        if rest.endswith(word):
            if op is not None and op != sym:
                return Reading(text, "text")  # 不低于 … 以内: contradictory
            rest, op = rest[:-len(word)], sym
            break
    unit = _unit(rest)
    if unit is None:
        return Reading(text, "text")
    base, factor = unit
    return Reading(text, "number", op, number * factor, base, factor)


def load_levels(path: str | Path | None = None) -> dict[str, float]:
    """The qualitative levels and their coefficients (shares of the leaf's points, in [0, 1])
    from a YAML file ``levels: {好: 1.0, 较好: 0.8, …}``; the bundled table
    (``datasets/forms/levels.yaml``) when ``path`` is None."""
    src = Path(path) if path is not None else PROJECT_ROOT / V.LEVELS_FILE
    doc = check_mapping(read_yaml(src), ("levels",), str(src), "a levels file",
                        required=("levels",))
    table = doc["levels"]
    if not isinstance(table, Mapping) or not table:
        raise InputError(src, field="levels", value=table,
                         problem="must map each level as written to a coefficient in [0, 1]")
    out: dict[str, float] = {}
    for label, coef in table.items():
        if (isinstance(coef, bool) or not isinstance(coef, int | float)
                or not 0 <= coef <= 1):
            raise InputError(src, field=f"levels.{label}", value=coef,
                             problem="must be a coefficient in [0, 1]")
        out[clean(label)] = float(coef)
    return out
