"""orchestration/formatting.py: every number a person reads, against expectations written by
hand from the rules (README, "Numbers"): thousands separators, one decimal in percentages
(two under 0.05 %, "less than 0.01 %" below that), no "+0.0 %" or "-0.00", "1 day", ISO
dates, and unknown written as "unknown" in a sentence and "-" in a table cell."""

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from orchestration import formatting as f

UNKNOWNS = [None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan")]


@pytest.mark.parametrize("value", UNKNOWNS, ids=repr)
def test_unknown_is_the_word_in_a_sentence_and_a_dash_in_a_table(value):
    for formatter in (f.num, f.money, f.count, f.signed, f.days, f.sessions, f.times, f.bn,
                      f.signed_bn, f.rate, f.corr, f.p_number, f.pct, f.signed_pct, f.below,
                      f.below_record, f.points, f.when, f.yes_no):
        assert formatter(value) == "unknown", formatter.__name__
        assert f.cells([value], formatter) == ["-"], formatter.__name__
    assert f.rate_range(value, 3.75) == "unknown" and f.rate_range(3.5, value) == "unknown"
    assert f.p_value(value) == "p unknown"
    assert f.is_unknown(value)


@pytest.mark.parametrize("value", [0, 0.0, -0.0, False, "", date(2025, 1, 1), math.inf])
def test_zero_false_and_empty_are_known(value):
    assert not f.is_unknown(value)


def test_numbers_and_money_with_thousands_separators():
    assert f.num(2590.610107) == "2,590.61"
    assert f.num(126198.0703) == "126,198.07"
    assert f.num(1_000_000) == "1,000,000.00"
    assert f.num(1) == "1.00" and f.num(0) == "0.00"
    assert f.num(5812.34, 1) == "5,812.3" and f.num(0.0004, 3) == "0.000"
    assert f.money(-1234.5) == "-1,234.50"
    assert f.money(-1_000_000) == "-1,000,000.00"
    assert f.money(0.049) == "0.05" and f.money(0.05) == "0.05"
    # nothing prints as minus zero
    assert f.num(-0.0) == "0.00" and f.num(-0.001) == "0.00" and f.money(-0.004) == "0.00"
    assert f.num(-0.005001) == "-0.01"
    assert f.count(1_000_000) == "1,000,000" and f.count(0) == "0" and f.count(1) == "1"
    assert f.count(np.int64(2577)) == "2,577" and f.count(12.0) == "12"
    assert f.count(-1234) == "-1,234"


def test_signed_numbers_never_sign_zero():
    assert f.signed(0.25) == "+0.25" and f.signed(-1.3) == "-1.30"
    assert f.signed(0) == "0.00" and f.signed(-0.0) == "0.00" and f.signed(0.004) == "0.00"
    assert f.signed(-0.12) == "-0.12"
    assert f.signed(25, 0) == "+25" and f.signed(-50, 0) == "-50" and f.signed(0, 0) == "0"
    assert f.signed(np.int64(-25), 0) == "-25"
    assert f.signed(1234.5, 1) == "+1,234.5"


def test_counts_of_days_sessions_and_times():
    assert f.days(1) == "1 day" and f.days(0) == "0 days" and f.days(2) == "2 days"
    assert f.days(1777) == "1,777 days" and f.days(1_000_000) == "1,000,000 days"
    assert f.days(np.int64(1)) == "1 day" and f.days(1.0) == "1 day"
    assert f.sessions(1) == "1 session" and f.sessions(38) == "38 sessions"
    assert f.plural(1, "row") == "1 row" and f.plural(1_000, "row") == "1,000 rows"
    assert f.plural(1, "earlier divergence") == "1 earlier divergence"
    assert f.times(1) == "once" and f.times(3) == "3 times" and f.times(0) == "0 times"
    assert f.times(1_000) == "1,000 times"


def test_percentages_one_decimal_two_under_0_05_and_less_than_0_01():
    # fractions: 0.267 is 26.7 %
    assert f.pct(0.267) == "26.7 %" and f.pct(1) == "100.0 %" and f.pct(10) == "1,000.0 %"
    assert f.pct(0.049) == "4.9 %" and f.pct(0.05) == "5.0 %" and f.pct(1 / 3) == "33.3 %"
    assert f.pct(0.0005) == "0.1 %"  # 0.05 % is one decimal
    assert f.pct(0.00049) == "0.05 %"  # 0.049 %: two decimals
    assert f.pct(0.0004) == "0.04 %" and f.pct(0.0003) == "0.03 %"
    assert f.pct(0.0001) == "0.01 %" and f.pct(0.00005) == "0.01 %"
    assert f.pct(0.000049) == "less than 0.01 %" and f.pct(0.000004) == "less than 0.01 %"
    assert f.pct(0) == "0.0 %" and f.pct(-0.0) == "0.0 %"
    assert f.pct(-0.058) == "-5.8 %" and f.pct(-0.0003) == "-0.03 %"
    assert f.pct(-0.000004) == "less than -0.01 %"


def test_signed_percentages_never_read_plus_zero():
    assert f.signed_pct(0.0121) == "+1.2 %" and f.signed_pct(-0.058) == "-5.8 %"
    assert f.signed_pct(0.0003) == "+0.03 %" and f.signed_pct(-0.0003) == "-0.03 %"
    assert f.signed_pct(0.00049) == "+0.05 %" and f.signed_pct(0.0005) == "+0.1 %"
    assert f.signed_pct(0.000004) == "less than +0.01 %"
    assert f.signed_pct(0) == "0.0 %" and f.signed_pct(-0.0) == "0.0 %"
    assert f.signed_pct(1) == "+100.0 %"


def test_distance_below_a_record_has_no_sign():
    assert f.below(-0.264) == "26.4 %" and f.below(-0.2669354) == "26.7 %"
    assert f.below(2442.03 / 2442.74 - 1) == "0.03 %"
    assert f.below(-0.0005) == "0.1 %" and f.below(-0.00004) == "less than 0.01 %"
    assert f.below(0.0) == "0.0 %" and f.below(-0.0) == "0.0 %"
    assert f.below_record(-0.264) == "26.4 % below its record close"
    assert f.below_record(-0.0003, "record high") == "0.03 % below its record high"
    assert f.below_record(0.0) == "at its record close"
    assert f.below_record(-0.0) == "at its record close"
    # a distance that rounds to 0.0 % is still below, never "at its record"
    assert f.below_record(-0.000001) == "less than 0.01 % below its record close"
    for text in (f.below(-0.264), f.below_record(-0.264)):
        assert "-" not in text


def test_billions_rates_correlations_and_points():
    assert f.bn(5812.34) == "5,812.3 bn" and f.bn(0) == "0.0 bn" and f.bn(-12.34) == "-12.3 bn"
    assert f.signed_bn(12.34) == "+12.3 bn" and f.signed_bn(-4) == "-4.0 bn"
    assert f.signed_bn(0) == "0.0 bn" and f.signed_bn(-0.04) == "0.0 bn"
    assert f.signed_bn(1234.56) == "+1,234.6 bn"
    assert f.rate(3.75) == "3.75" and f.rate(0) == "0.00" and f.rate(5.3) == "5.30"
    assert f.rate_range(3.5, 3.75) == "3.50-3.75 %" and f.rate_range(0, 0.25) == "0.00-0.25 %"
    assert f.rate_range(None, 0.25, f.CELL) == "-"
    assert f.corr(0.4549) == "0.45" and f.corr(-0.1234) == "-0.12" and f.corr(-0.001) == "0.00"
    assert f.points(0.123) == "+12.3 percentage points"
    assert f.points(-0.05) == "-5.0 percentage points"
    assert f.points(0) == "0.0 percentage points" and f.points(-0.0001) == "0.0 percentage points"


def test_p_values():
    assert f.p_number(0.27) == "0.27" and f.p_number(0.0312) == "0.0312"
    assert f.p_number(0.0499) == "0.0499" and f.p_number(0.1) == "0.10"
    assert f.p_number(0.0009) == "< 0.001" and f.p_number(0.001) == "0.001"
    assert f.p_value(0.27) == "p = 0.27" and f.p_value(0.0002) == "p < 0.001"


def test_dates_are_iso():
    assert f.when(date(2025, 12, 11)) == "2025-12-11"
    assert f.when(datetime(2025, 12, 11, 23, 59)) == "2025-12-11"
    assert f.when(pd.Timestamp("2025-12-11")) == "2025-12-11"
    assert f.when(np.datetime64("2025-12-11")) == "2025-12-11"
    assert f.when("2025-12-11") == "2025-12-11"
    assert f.when(None, "not in the seed") == "not in the seed"


def test_yes_no_and_table_columns():
    assert f.yes_no(True) == "yes" and f.yes_no(False) == "no"
    assert f.yes_no(np.bool_(False)) == "no"
    assert f.yes_no(None, "unknown (no Bitcoin data)") == "unknown (no Bitcoin data)"
    assert f.cells(pd.Series([0.25, None, -0.0]), f.signed_pct) == ["+25.0 %", "-", "0.0 %"]
    assert f.cells(pd.Series([1234.5, np.nan]), f.num, 1) == ["1,234.5", "-"]
    assert f.cells([date(2025, 1, 2), pd.NaT], f.when) == ["2025-01-02", "-"]
    assert f.cells(pd.array([1, None], dtype="Int64"), f.count) == ["1", "-"]
