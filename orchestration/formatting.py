"""How lockstep writes numbers for people: the brief, the dashboard, the alerts, the terminal
snapshot, the Dagster UI's metadata and the run summary all format through this module.

The rules:

- thousands separators everywhere (2,590.61; 1,777 days; 1,000,000);
- percentages with one decimal and a space (26.7 %), but two decimals under 0.05 % so that a
  non-zero one never reads as 0.0 % (0.03 %), and "less than 0.01 %" below that;
- a signed change carries its sign (+1.2 %, -5.8 %, +0.03 %), except zero: "0.0 %", never
  "+0.0 %" or "-0.0 %"; no number prints as "-0.00";
- a distance below a record is written without a sign, the sentence says "below"
  ("26.4 % below its record close", never "-26.4 % below"); "at its record" only when the
  distance is exactly zero;
- one day, one session: "1 day", "2 days";
- dates in ISO form (2025-12-11);
- unknown (None, NaN, NaT, pandas' NA) is written as unknown: the word "unknown" in a
  sentence (every function's default) and "-" in a table cell (`cells`, or `unknown=CELL`).
  Never 0, never blank, never "nan".

Nothing here computes a figure: dbt does; this module only writes what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

UNKNOWN = "unknown"  # an unknown value in a sentence
CELL = "-"  # an unknown value in a table cell


def is_unknown(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA (a value that is not equal to itself)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA, which has no truth value
        return True


def _fixed(value: float, decimals: int, sign: bool = False) -> str:
    """`value` with thousands separators and `decimals` decimals; a value that rounds to zero
    is written without a sign ("0.00", never "-0.00" or "+0.00")."""
    text = f"{value:{'+' if sign else ''},.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text.lstrip("+-")
    return text


# ------------------------------------------------------------------------------ numbers
def num(value: float | None, decimals: int = 2, unknown: str = UNKNOWN) -> str:
    """2590.610107 -> '2,590.61'; -1234.5 -> '-1,234.50'."""
    return unknown if is_unknown(value) else _fixed(float(value), decimals)


def distinct_nums(a: float, b: float, decimals: int = 2) -> tuple[str, str]:
    """Two values compared in one sentence, with enough decimals that unequal values never
    read alike: 58.4212 against 58.4183 is '58.421' and '58.418', not '58.42' twice (equal
    values keep `decimals`; at most 6 more)."""
    for places in range(decimals, decimals + 7):
        left, right = num(a, places), num(b, places)
        if left != right or a == b:
            return left, right
    return left, right


def money(value: float | None, unknown: str = UNKNOWN) -> str:
    """A price or an amount: two decimals, thousands separators."""
    return num(value, 2, unknown)


def count(n: int | None, unknown: str = UNKNOWN) -> str:
    """1000000 -> '1,000,000'."""
    return unknown if is_unknown(n) else f"{int(n):,}"


def signed(value: float | None, decimals: int = 2, unknown: str = UNKNOWN) -> str:
    """'+0.25', '-1.30', and '0.00' for zero."""
    return unknown if is_unknown(value) else _fixed(float(value), decimals, sign=True)


def plural(n: int | None, word: str, unknown: str = UNKNOWN) -> str:
    """'1 day', '1,777 days' (a count and its noun, singular for exactly one); a noun ending
    in s is its own plural ('3 series')."""
    if is_unknown(n):
        return unknown
    return f"{int(n):,} {word}" + ("" if int(n) == 1 or word.endswith("s") else "s")


def days(n: int | None, unknown: str = UNKNOWN) -> str:
    return plural(n, "day", unknown)


def sessions(n: int | None, unknown: str = UNKNOWN) -> str:
    return plural(n, "session", unknown)


def times(n: int | None, unknown: str = UNKNOWN) -> str:
    """'once', '3 times'."""
    if is_unknown(n):
        return unknown
    return "once" if int(n) == 1 else f"{int(n):,} times"


def bn(value: float | None, unknown: str = UNKNOWN) -> str:
    """Billions of USD: '5,812.3 bn'."""
    return unknown if is_unknown(value) else f"{_fixed(float(value), 1)} bn"


def signed_bn(value: float | None, unknown: str = UNKNOWN) -> str:
    """A change in billions: '+12.3 bn', '-4.0 bn', '0.0 bn'."""
    return unknown if is_unknown(value) else f"{_fixed(float(value), 1, sign=True)} bn"


def rate(value: float | None, unknown: str = UNKNOWN) -> str:
    """An interest rate in percent, as FRED publishes it: 3.75 -> '3.75'."""
    return num(value, 2, unknown)


def rate_range(lower: float | None, upper: float | None, unknown: str = UNKNOWN) -> str:
    """The federal funds target range: '3.50-3.75 %'."""
    if is_unknown(lower) or is_unknown(upper):
        return unknown
    return f"{rate(lower)}-{rate(upper)} %"


def corr(r: float | None, unknown: str = UNKNOWN) -> str:
    """A correlation: '0.45', '-0.12'."""
    return num(r, 2, unknown)


def p_number(p: float | None, unknown: str = UNKNOWN) -> str:
    """'0.27' (two decimals from 0.1 up), '0.0312' (three significant digits below, so a
    p-value just under a verdict's threshold never prints as the threshold), '< 0.001'."""
    if is_unknown(p):
        return unknown
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3g}" if p < 0.1 else f"{p:.2f}"


def p_value(p: float | None, unknown: str = UNKNOWN) -> str:
    """'p = 0.27', 'p < 0.001'."""
    if is_unknown(p):
        return f"p {unknown}"
    number = p_number(p)
    return f"p {number}" if number.startswith("<") else f"p = {number}"


# ------------------------------------------------------------------------------ percentages
def _percent(fraction: float, sign: str) -> str:
    """|fraction| in percent with `sign` in front: one decimal, two below 0.05 %, 'less than
    0.01 %' below 0.005 %; zero is '0.0 %' whatever the sign."""
    size = abs(fraction) * 100
    if size == 0:
        return "0.0 %"
    if size >= 0.05:
        return f"{sign}{size:,.1f} %"
    if size >= 0.005:
        return f"{sign}{size:.2f} %"
    return f"less than {sign}0.01 %"


def pct(fraction: float | None, unknown: str = UNKNOWN) -> str:
    """A fraction as a percentage: 0.267 -> '26.7 %', 0.0003 -> '0.03 %', -0.058 -> '-5.8 %'."""
    if is_unknown(fraction):
        return unknown
    return _percent(fraction, "-" if fraction < 0 else "")


def signed_pct(fraction: float | None, unknown: str = UNKNOWN) -> str:
    """A change with its sign: '+1.2 %', '-5.8 %', '+0.03 %'; zero is '0.0 %'."""
    if is_unknown(fraction):
        return unknown
    return _percent(fraction, "-" if fraction < 0 else "+")


def below(fraction: float | None, unknown: str = UNKNOWN) -> str:
    """A drawdown (<= 0) as the distance below the record, without a sign: -0.267 ->
    '26.7 %', -0.00029 -> '0.03 %' (the sentence or the column says "below")."""
    return unknown if is_unknown(fraction) else _percent(fraction, "")


def below_record(fraction: float | None, record: str = "record close",
                 unknown: str = UNKNOWN) -> str:
    """'26.4 % below its record close'; 'at its record close' only when the distance is zero."""
    if is_unknown(fraction):
        return unknown
    return f"at its {record}" if fraction == 0 else f"{below(fraction)} below its {record}"


def points(fraction: float | None, unknown: str = UNKNOWN) -> str:
    """A difference of two returns, in percentage points: 0.123 -> '+12.3 percentage points'."""
    if is_unknown(fraction):
        return unknown
    return f"{_fixed(fraction * 100, 1, sign=True)} percentage points"


# ------------------------------------------------------------------------------ dates, flags
def when(value: date | datetime | str | None, unknown: str = UNKNOWN) -> str:
    """A date in ISO form: '2025-12-11' (a datetime or a pandas Timestamp: its date)."""
    if is_unknown(value):
        return unknown
    if isinstance(value, datetime):  # pandas' Timestamp is one
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value)[:10]).isoformat()


def yes_no(flag: bool | None, unknown: str = UNKNOWN) -> str:
    return unknown if is_unknown(flag) else ("yes" if flag else "no")


# ------------------------------------------------------------------------------ tables
def cells(values: Iterable, formatter: Callable[..., str], *args: Any) -> list[str]:
    """A table column: each value through `formatter`, and "-" for each unknown one."""
    return [formatter(v, *args, unknown=CELL) for v in values]
