"""The daily brief on the real history: 2025-12-11 fact by fact, and other dates against an
independent pandas computation from the CSV files (tests/brief_oracle.py)."""

import re
from datetime import date

import pandas as pd
import pytest

from orchestration.brief import read_brief, read_rows
from orchestration.lib.warehouse import connect
from tests import brief_oracle as oracle

pytestmark = [pytest.mark.slow, pytest.mark.real_data]

STEMS = {"BTC-USD": "BTC-USD", "^RUT": "RUT", "IWM": "IWM", "^GSPC": "GSPC", "^DJI": "DJI",
         "QQQ": "QQQ", "GC=F": "GC_F", "SI=F": "SI_F"}
PAIRS = {"^RUT/BTC-USD": ("^RUT", "BTC-USD"), "^GSPC/BTC-USD": ("^GSPC", "BTC-USD"),
         "^DJI/BTC-USD": ("^DJI", "BTC-USD")}
# a record day of the leaders, a record-high-only day, a weekend, a day inside the June 2022
# joint bottom's week, an early divergent day, the newest date (stale instruments, unknown
# divergence), a day before Bitcoin's history
DATES = [date(2021, 11, 8), date(2024, 11, 25), date(2025, 12, 13), date(2022, 6, 24),
         date(2015, 3, 2), date(2026, 8, 27), date(2000, 3, 10), date(2025, 12, 11)]


@pytest.fixture(scope="module")
def wh(real_warehouse):
    result, warehouse = real_warehouse
    assert result.success
    return warehouse


@pytest.fixture(scope="module")
def bars(real_data):
    return {s: oracle.load_market(real_data, stem) for s, stem in STEMS.items()}


@pytest.fixture(scope="module")
def sessions():
    return oracle.nyse_sessions()


def _rows(wh, day):
    with connect(wh, read_only=True) as con:
        _, rows = read_rows(con, day)
    return rows


def _kind(rows, kind, **match):
    return [r for r in rows if r["fact_kind"] == kind
            and all(r.get(k) == v for k, v in match.items())]


def test_the_brief_of_2025_12_11_fact_by_fact(wh):
    text = read_brief(wh, date(2025, 12, 11))
    lines = text.splitlines()

    def line_with(*needles):
        found = [line for line in lines if all(n in line for n in needles)]
        assert found, needles
        return found[0]

    assert "SYNTHETIC" not in text
    line_with("Russell 2000 (^RUT)", "record close of 2,590.61", "2,559.61 of 2025-12-10")
    line_with("Dow Jones Industrial Average (^DJI)", "record close of 48,704.01")
    line_with("S&P 500 (^GSPC)", "record close of 6,901.00")
    line_with("Silver front-month future (SI=F)", "record close of 63.93")
    line_with("At a record close:", "^RUT", "^DJI", "^GSPC", "SI=F")
    line_with("Invesco QQQ Trust (QQQ)", "| 1.6 % |", "634.95 on 2025-10-29")
    line_with("Bitcoin (BTC-USD)", "| 25.8 % | 124,752.53 on 2025-10-06",
              "| 26.7 % | 126,198.07 on 2025-10-06")
    assert "2014-09-17" in line_with("BTC-USD: Yahoo's BTC-USD history starts")
    pair = text[text.index("### Russell 2000 / Bitcoin"):text.index("### S&P 500 / Bitcoin")]
    assert "**Divergent**" in pair and "26.7 % below its record intraday high" in pair
    assert ("the first divergence since the episode that ended 2021-01-22, 1,777 days"
            in pair)
    records = [line for line in pair.splitlines() if line.startswith("- Records together")][0]
    assert records.index("2025-10-03 to 2025-10-06") < records.index("2024-11-25") \
        < records.index("2021-11-02 to 2021-11-08")
    assert "on 2025-10-06" in records and "on 2024-11-22" in records and "on 2021-11-08" in records
    line_with("Latest joint bottom", "2,305.11 on 2025-11-20", "80,659.81 on 2025-11-21")
    assert "n = 11" in pair and "anecdote" in pair and "history suggests" not in text
    fed = line_with("Federal funds target range 3.50-3.75 %")
    assert "a 25 bp cut, the third cut of 2025" in fed
    assert "announced 2025-12-10" in fed and "effective 2025-12-11" in fed
    liquidity = line_with("Net liquidity")
    assert "5,728.4 bn" in liquidity and "week of 2025-12-10, published 2025-12-11" in liquidity
    line_with("2-year Treasury yield minus the effective fed funds rate", "proxy")
    line_with("Coming 2025-12-12", "Treasury bills", "as reported")


@pytest.mark.parametrize("day", DATES, ids=str)
def test_instrument_facts_against_the_csvs(wh, bars, sessions, day):
    rows = _rows(wh, day)
    for symbol, frame in bars.items():
        for basis in ("close", "high"):
            expected = oracle.standing(frame, day, basis)
            got = _kind(rows, "standing", symbol=symbol, basis=basis)
            if expected is None:
                assert got == [], (symbol, basis)
                continue
            [r] = got
            assert pd.Timestamp(r["as_of_date"]) == expected.as_of, (symbol, basis)
            assert r["close"] == pytest.approx(expected.close, abs=1e-9)
            assert r["record_value"] == pytest.approx(expected.record, abs=1e-9)
            assert pd.Timestamp(r["record_date"]) == expected.record_date, (symbol, basis)
            assert r["fraction_below_record"] == pytest.approx(expected.fraction, abs=1e-12)
            assert r["is_at_record"] == expected.at_record
            if symbol == "BTC-USD":
                behind = (pd.Timestamp(day) - expected.as_of).days
            else:
                behind = int(((sessions > expected.as_of) & (sessions <= pd.Timestamp(day)))
                             .sum())
            assert r["sessions_behind"] == behind, (symbol, basis)
            assert r["is_stale"] == (behind > 3)
            record = oracle.records_on(frame, day, basis)
            today = _kind(rows, "record", symbol=symbol, basis=basis)
            if record is None:
                assert today == [], (symbol, basis)
            else:
                [t] = today
                assert t["record_value"] == pytest.approx(record[0], abs=1e-9)
                assert t["previous_record_value"] == pytest.approx(record[1], abs=1e-9)
                assert pd.Timestamp(t["previous_record_date"]) == record[2]


@pytest.mark.parametrize("day", DATES, ids=str)
def test_pair_and_fed_facts_against_the_csvs(wh, bars, sessions, real_data, day):
    rows = _rows(wh, day)
    for pair_id, (leader, laggard) in PAIRS.items():
        lead = bars[leader]
        flags = oracle.divergent_days(lead, bars[laggard])
        [d] = _kind(rows, "divergence", pair_id=pair_id)
        as_of = lead.index[lead.index <= pd.Timestamp(day)][-1]
        assert pd.Timestamp(d["as_of_date"]) == as_of
        assert d["is_divergent"] == flags[as_of], pair_id  # None when unknown
        runs = oracle.episodes(flags[flags.index <= as_of], sessions)
        if flags[as_of] is True:
            current = runs.iloc[-1]
            assert pd.Timestamp(d["episode_start_date"]) == current.start
            assert d["divergent_days_so_far"] == current.days
            if len(runs) > 1:
                previous = runs.iloc[-2]
                assert pd.Timestamp(d["previous_episode_end_date"]) == previous.end
                assert d["days_since_previous_episode"] == (current.start - previous.end).days
                assert d["sessions_since_previous_episode"] == \
                    current.start_session - previous.end_session
    policy = oracle.policy_in_force(real_data, day)
    got = _kind(rows, "policy_rate")
    if policy is None:
        assert got == []
    else:
        [p] = got
        assert pd.Timestamp(p["effective_date"]) == policy["effective"]
        assert p["change_bp"] == policy["bp"]
        assert (p["new_lower"], p["new_upper"]) == (policy["new_lower"], policy["new_upper"])
        assert p["number_in_year"] == policy["number_in_year"]
    if day >= date(2003, 3, 1):
        liquidity = oracle.net_liquidity_known(real_data, day)
        [n] = _kind(rows, "net_liquidity")
        assert pd.Timestamp(n["week_ending"]) == liquidity["week"]
        assert pd.Timestamp(n["available_from"]) == liquidity["published"]
        assert n["net_liquidity"] == pytest.approx(liquidity["net_liquidity"], abs=1e-9)
        assert n["treasuries_change_1w"] == pytest.approx(liquidity["treasuries_change_1w"],
                                                          abs=1e-9)


# a weekday, the day of a rate cut (EFFR of the day before is the one known), a Saturday and a
# Monday (Friday's EFFR is published on Monday), the day after Thanksgiving 2024 (Wednesday's
# EFFR is published on Friday), a day in 2022
RATE_DATES = [date(2025, 12, 11), date(2025, 12, 13), date(2025, 12, 15), date(2024, 11, 29),
              date(2022, 6, 24), date(2025, 12, 10)]


@pytest.mark.parametrize("day", RATE_DATES, ids=str)
def test_the_2_year_minus_effr_uses_only_what_was_published_that_day(wh, real_data, day):
    """EFFR of a day is published on the next business day, so the brief of `day` uses the
    latest EFFR whose publication day is on or before it (always dated before `day`); the
    2-year yield of `day` itself. Recomputed from the CSVs (tests/brief_oracle.py)."""
    expected = oracle.rates_known(real_data, day)
    [r] = _kind(_rows(wh, day), "rates")
    assert pd.Timestamp(r["effr_as_of"]) == expected["effr_as_of"] < pd.Timestamp(day)
    assert pd.Timestamp(r["dgs2_as_of"]) == expected["dgs2_as_of"]
    assert (r["effr"], r["dgs2"]) == (pytest.approx(expected["effr"]),
                                      pytest.approx(expected["dgs2"]))
    assert r["spread_2y_effr"] == pytest.approx(expected["spread"])
    line = [x for x in read_brief(wh, day).splitlines()
            if x.startswith("- 2-year Treasury yield minus the effective fed funds rate")]
    assert line and f": {expected['spread']:+.2f} points (" in line[0], line
    effr_day = expected["effr_as_of"].date().isoformat()
    assert f"{expected['effr']:.2f} % as of {effr_day}" in line[0], line


def test_the_june_2022_joint_bottom_is_known_a_week_later(wh):
    """^RUT's close of 2022-06-16 was its lowest of the 2021-23 episode so far; Bitcoin's
    lowest low came on 2022-06-18. Confirmed on 2022-06-23, the brief names it until ^RUT
    closes lower (2023-10); the episode's final trough (2023-10-27) is not known before."""
    before = _kind(_rows(wh, date(2022, 6, 22)), "joint_bottom", pair_id="^RUT/BTC-USD")
    assert [pd.Timestamp(r["event_start_date"]) for r in before] != [pd.Timestamp("2022-06-16")]
    [after] = _kind(_rows(wh, date(2022, 6, 24)), "joint_bottom", pair_id="^RUT/BTC-USD")
    assert pd.Timestamp(after["event_start_date"]) == pd.Timestamp("2022-06-16")
    assert pd.Timestamp(after["laggard_event_date"]) == pd.Timestamp("2022-06-18")
    assert pd.Timestamp(after["known_from"]) == pd.Timestamp("2022-06-23")


def test_newest_date_says_stale_and_unknown(wh, real_data):
    text = read_brief(wh)  # the latest date
    assert text.startswith("# lockstep brief: 2026-08-27")
    assert "**Stale**: BTC-USD's latest close is from 2026-07-22, 36 sessions" in text
    assert "**Stale**: SI=F's latest close is from 2026-02-20" in text
    pair = text[text.index("### Russell 2000 / Bitcoin"):]
    assert "Divergence unknown" in pair.split("###")[1]
    # ^NDX has no stored prices: named, and its pair named as not assessable (not skipped)
    assert "- Nasdaq 100 (^NDX): no stored prices at all." in text
    assert ("### Nasdaq 100 / Bitcoin\n\nNasdaq 100 (^NDX): no stored prices, so the pair "
            "^NDX/BTC-USD cannot be assessed.") in text
    # the target range and net liquidity are carried to the newest day, from complete weeks,
    # each saying the day it is as of; DGS2 stopped on 2026-07-28 (the file's last row), so
    # the spread is named as unknown with that day instead of vanishing
    dgs2_last = pd.read_csv(real_data / "fred" / "DGS2.csv").date.iloc[-1]
    target_last = pd.read_csv(real_data / "fred" / "DFEDTARU.csv").date.iloc[-1]
    assert f"Federal funds target range 3.50-3.75 % (as of {target_last}" in text
    assert "the H.4.1 week of 2026-08-19, published 2026-08-20" in text
    days_ago = (date(2026, 8, 27) - date.fromisoformat(dgs2_last)).days
    assert (f"not known on this date: DGS2 (the 2-year Treasury yield) has no value since "
            f"{dgs2_last}, {days_ago} days before this date") in text


def test_brief_dates_cover_every_calendar_day(wh):
    with connect(wh, read_only=True) as con:
        first, last, n = con.execute("SELECT min(brief_date), max(brief_date), "
                                     "count(DISTINCT brief_date) FROM marts.mart_daily_brief"
                                     ).fetchone()
    assert first == date(1927, 12, 30) and last == date(2026, 8, 27)
    assert n == (last - first).days + 1


# ------------------------------------------------------------------ every number, read back
# The brief is read back as a person reads it: every number it states for an instrument is
# parsed from the Markdown and compared with the brief's own table (the standing rows of
# marts.mart_daily_brief, the same rows the table is made of) and with the pandas oracle
# computed from the CSV files. Whatever number is left in the instrument sections after
# that must belong to a line kind checked elsewhere (episode counts, the outcome table).
NUMBER_DATES = [date(2024, 11, 25), date(2025, 12, 11), date(2025, 12, 13), date(2026, 8, 27),
                date(2022, 6, 24), date(2021, 11, 8)]
NUM = r"\d[\d,]*(?:\.\d+)?"
DAY_RE = r"\d{4}-\d\d-\d\d"
PCT = rf"(?:less than )?[+-]?{NUM} %"
CENT = 0.0051  # two printed decimals (68,789.625 prints as 68,789.62)


def _money(text: str) -> float:
    return float(text.replace(",", ""))


def _check_pct(text: str, fraction: float, what) -> None:
    """A printed distance or change against a fraction: within its printed precision, "0.0 %"
    only for exactly zero, "less than 0.01 %" only below it."""
    size = abs(fraction) * 100
    if text.startswith("less than"):
        assert 0 < size < 0.01, (what, text, fraction)
        return
    number = text.split()[0].lstrip("+-")
    decimals = len(number.split(".")[1]) if "." in number else 0
    assert abs(float(number) - size) <= 0.5 * 10 ** -decimals + 1e-9, (what, text, fraction)
    if float(number) == 0:
        assert fraction == 0, (what, text, fraction)
    if text[0] in "+-" and fraction != 0:
        assert (text[0] == "-") == (fraction < 0), (what, text, fraction)


def _record_value_on(frame: pd.DataFrame, day: str, basis: str) -> float:
    """The instrument's value on `day` on `basis`, asserted to be a record then (not its
    first stored day)."""
    column = "close" if basis == "close" else "high_value"
    ts = pd.Timestamp(day)
    before = frame.loc[frame.index < ts, column]
    assert not before.empty and frame.loc[ts, column] >= before.max(), (day, basis)
    return frame.loc[ts, column]


def _sections(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the instrument sections: Records, Below their records, Pairs."""
    out, keep = [], False
    for n, line in enumerate(text.splitlines()):
        if line.startswith("## "):
            keep = line in ("## Records", "## Below their records", "## Pairs")
        elif keep:
            out.append((n, line))
    return out


@pytest.mark.parametrize("day", NUMBER_DATES, ids=str)
def test_every_instrument_number_of_the_brief_agrees_with_its_table(wh, bars, day):
    text = read_brief(wh, day)
    rows = _rows(wh, day)
    standing = {(r["symbol"], r["basis"]): r for r in _kind(rows, "standing")}
    table: dict[tuple[str, str], tuple[str, str]] = {}   # (symbol, basis) -> (distance, record)
    lines = _sections(text)
    leftover = []
    for _, line in lines:
        rest = line
        # the table: name (SYM), as of, close, below close, record close, below high, record high
        if line.startswith("| ") and "(" in line.split("|")[1]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            symbol = cells[0][cells[0].rindex("(") + 1:-1]
            for basis, distance, record in (("close", cells[3], cells[4]),
                                            ("high", cells[5], cells[6])):
                r, expected = standing[(symbol, basis)], oracle.standing(
                    bars[symbol], day, basis) if symbol in bars else None
                value, on, age = re.fullmatch(rf"({NUM}) on ({DAY_RE}) \(({NUM}) days?\)",
                                              record).groups()
                assert (_money(value), on, int(age.replace(",", ""))) == (
                    pytest.approx(r["record_value"], abs=CENT), r["record_date"].isoformat(),
                    r["days_since_record"]), (symbol, basis)
                assert (distance == "at record") == r["is_at_record"], (symbol, basis)
                if distance != "at record":
                    _check_pct(distance, r["fraction_below_record"], (symbol, basis))
                if expected is not None:
                    assert _money(value) == pytest.approx(expected.record, abs=CENT), (
                        symbol, basis, value, expected)
                    assert on == expected.record_date.date().isoformat(), (symbol, basis, on,
                                                                           expected)
                    if distance != "at record":
                        _check_pct(distance, expected.fraction, (symbol, basis, "csv"))
                table[(symbol, basis)] = (distance, f"{value} on {on}")
            assert cells[1].split()[0] == standing[(symbol, "close")]["as_of_date"].isoformat()
            assert _money(cells[2]) == pytest.approx(standing[(symbol, "close")]["close"],
                                                     abs=CENT)
            if symbol in bars:
                assert _money(cells[2]) == pytest.approx(
                    oracle.standing(bars[symbol], day, "close").close, abs=CENT)
            continue
        # the day's records: "- **Name (SYM)** set a record close of X (+g % over Y of D, ...)"
        head = re.match(r"- \*\*(.+) \((.+)\)\*\* set ", line)
        if head:
            symbol = head.group(2)
            for m in re.finditer(rf"a record (close|intraday high) of ({NUM})(?: \((?:({PCT}) "
                                 rf"over|equal to) ({NUM}) of ({DAY_RE}), ({NUM}) days? "
                                 rf"earlier\))?", line):
                basis = "close" if m.group(1) == "close" else "high"
                got = oracle.records_on(bars[symbol], day, basis)
                assert got is not None, (symbol, basis)
                assert _money(m.group(2)) == pytest.approx(got[0], abs=CENT)
                assert _money(m.group(2)) == pytest.approx(
                    standing[(symbol, basis)]["record_value"], abs=CENT)
                if m.group(4):
                    assert _money(m.group(4)) == pytest.approx(got[1], abs=CENT)
                    assert m.group(5) == got[2].date().isoformat()
                    assert int(m.group(6).replace(",", "")) == (pd.Timestamp(day) - got[2]).days
                    if m.group(3):
                        _check_pct(m.group(3), got[0] / got[1] - 1, (symbol, basis, "gain"))
                    else:
                        assert got[0] == got[1]
                rest = rest.replace(m.group(0), "")
        leftover.append(rest)

    for r in _kind(rows, "divergence"):
        leader, laggard = r["leader_name"], r["laggard_name"]
        section = text[text.index(f"### {leader} / {laggard}"):]
        section = section[:section.find("\n### ", 4) if "\n### " in section[4:] else None]
        lead, lag = r["leader"], r["laggard"]
        # the sentence on the pair quotes the table's distances, never its own
        # (an instrument at a record close is listed above the table, not in it: then the
        # standing row the table would show)
        for m in re.finditer(rf"the {re.escape(leader)} is ({PCT}) below its record close",
                             section):
            assert m.group(1) == table[(lead, "close")][0]
        for m in re.finditer(rf"{re.escape(laggard)} is (?:only )?({PCT}) below its record "
                             rf"(intraday high|close)", section):
            basis = "high" if m.group(2) == "intraday high" else "close"
            if (lag, basis) in table:
                assert m.group(1) == table[(lag, basis)][0], (r["pair_id"], m.group(0))
            else:
                _check_pct(m.group(1), standing[(lag, basis)]["fraction_below_record"], m.group(0))
        for m in re.finditer(rf"the {re.escape(leader)} set a record close of ({NUM})", section):
            assert standing[(lead, "close")]["is_at_record"]
            assert _money(m.group(1)) == pytest.approx(standing[(lead, "close")]["close"],
                                                       abs=CENT)
        # records together: each basis with its own value, a record on that day in the CSVs,
        # and the table's own record where the table names the same day
        together = [line for line in section.splitlines()
                    if line.startswith("- Records together")]
        for line in together:
            for item in re.finditer(rf"({DAY_RE})(?: to ({DAY_RE}))? \({re.escape(leader)} "
                                    rf"(.+?); {re.escape(laggard)} (.+?)\)(?:;|\.$)", line):
                span_day = item.group(2) or item.group(1)
                for symbol, part in ((lead, item.group(3)), (lag, item.group(4))):
                    named = re.findall(rf"record (close|high) ({NUM})(?: on ({DAY_RE}))?", part)
                    assert named, part
                    shared = re.search(rf" on ({DAY_RE})$", part)
                    for basis, value, on in named:
                        on = on or (shared.group(1) if shared else span_day)
                        assert _money(value) == pytest.approx(
                            _record_value_on(bars[symbol], on, basis), abs=CENT), (symbol, on)
                        distance, record = table.get((symbol, basis), (None, None))
                        if record is not None and record.endswith(f" on {on}"):
                            assert record == f"{value} on {on}", (symbol, basis, on)
        for line in section.splitlines():
            m = re.search(rf"closed at ({NUM}) on ({DAY_RE}), ({NUM}) days? before this date "
                          rf"\(({PCT}) below its record close\), {re.escape(laggard)}'s lowest "
                          rf"low was ({NUM}) on ({DAY_RE})", line)
            later = re.search(rf"drawdown from its record close of ({DAY_RE}) bottomed at "
                              rf"({NUM}) on ({DAY_RE}), ({NUM}) days? before this date "
                              rf"\(({PCT}) below its record close\), with no joint bottom: "
                              rf"{re.escape(laggard)}'s lowest low within a week either side, "
                              rf"({NUM}) on ({DAY_RE})", line)
            if m:
                close, trough, age, below, low, low_day = m.groups()
            elif later:
                peak, close, trough, age, below, low, low_day = later.groups()
                upto = bars[lead].close[bars[lead].index <= pd.Timestamp(trough)]
                assert peak == upto[upto >= upto.cummax()].index[-1].date().isoformat()
                window = bars[lag].low_value[
                    (bars[lag].index >= pd.Timestamp(trough) - pd.Timedelta(days=7))
                    & (bars[lag].index <= pd.Timestamp(trough) + pd.Timedelta(days=7))]
                assert window.min() == pytest.approx(_money(low), abs=CENT)
                assert abs((pd.Timestamp(low_day) - pd.Timestamp(trough)).days) == 7
            else:
                continue
            frame = bars[lead]
            assert _money(close) == pytest.approx(frame.close[pd.Timestamp(trough)], abs=CENT)
            assert int(age.replace(",", "")) == (pd.Timestamp(day) - pd.Timestamp(trough)).days
            peak_close = frame.close[frame.index <= pd.Timestamp(trough)].max()
            _check_pct(below, _money(close) / peak_close - 1, (lead, trough))
            assert _money(low) == pytest.approx(bars[lag].low_value[pd.Timestamp(low_day)],
                                                abs=CENT)

    # what is left: dates, and the numbers of line kinds checked elsewhere
    checked_elsewhere = (
        r"- Of the .+ record events settled by then", r"\| ", r"What happened after",
        r"n = ", r"- \*\*Stale\*\*", r"- Records are records", r"\*\*(Not d|D)ivergent",
        r"- Records together", r"- Latest joint bottom", r"- Since then",
        r"At a record close", r"- .+ no stored prices", r".+ cannot be assessed",
        r"This episode began", r"- Lead and lag", r"\*\*Against the base rates",
        r"How often .+ beat", r"The randomised test")
    names = sorted({r["subject_name"] for r in rows if r["subject_name"]}
                   | {n for r in rows for n in (r["leader_name"], r["laggard_name"]) if n},
                   key=len, reverse=True)
    for rest in leftover:
        rest = re.sub(DAY_RE, "", rest)
        for name in names:   # "Russell 2000", "S&P 500": names, not numbers
            rest = rest.replace(name, "")
        if re.search(NUM, rest):
            assert any(re.match(p, rest) for p in checked_elsewhere), rest


def test_the_joint_bottom_of_2024_11_25_says_its_age_and_the_drawdown_without_one(wh, bars):
    """On 2024-11-25 the latest joint bottom is ^RUT's close of 2021-07-19; the drawdown
    from ^RUT's record close of 2021-11-08 bottomed on 2023-10-27 (its lowest close since,
    in the CSV) with no Bitcoin bottom inside the week either side."""
    text = read_brief(wh, date(2024, 11, 25))
    pair = text[text.index("### Russell 2000 / Bitcoin"):text.index("### S&P 500 / Bitcoin")]
    assert "on 2021-07-19, 1,225 days before this date" in pair
    rut = bars["^RUT"].close
    episode = rut[(rut.index > "2021-11-08") & (rut.index <= "2024-11-25")]
    trough = episode.idxmin()
    assert (f"drawdown from its record close of 2021-11-08 bottomed at {episode.min():,.2f} on "
            f"{trough.date()}, {(pd.Timestamp('2024-11-25') - trough).days:,} days before this "
            f"date") in pair
    assert "with no joint bottom" in pair


# ------------------------------------------------------------------ issue 30: the evidence
# The new sentences of a divergent day read back from the Markdown: every number equals the
# marts' rows (which tests/test_evidence_real.py checks against pandas, scipy and numpy) and,
# where cheap, the independent computation itself: the binomial tail against scipy, the words
# by the rules the issue writes down, the lead/lag line against numpy on the CSVs cut at the
# day. Nothing is known from after the day: the brief of the history cut at 2025-12-11 says
# the same, and only it -- whose newest day that is -- carries the randomised test.
STORY = date(2025, 12, 11)
LEADER_NAMES = {"^RUT/BTC-USD": "Russell 2000", "^GSPC/BTC-USD": "S&P 500",
                "^DJI/BTC-USD": "Dow Jones Industrial Average"}
HORIZON_ROW = re.compile(
    rf"\| ({NUM}) days \| (?:({NUM}) of ({NUM}) \(({NUM}) %\)|-) \| "
    rf"(?:({NUM}) % \(n = ({NUM})\)|-) \| (?:({NUM}) % \(n = ({NUM})\)|-) \| "
    rf"(?:({NUM}) % \(n = ({NUM})\)|-) \| ({NUM}|< 0\.001|-) \| ([^|]+) \|(.*)$")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _near(text: str, value: float, decimals: int) -> bool:
    return abs(float(text.replace(",", "")) - value) <= 0.5 * 10 ** -decimals + 1e-12


def _rules(p: float, n: int) -> str:
    """The issue's rules: "evidence" needs n >= 20 and p < 0.05, "suggestive" p < 0.1."""
    return ("evidence" if p < 0.05 and n >= 20 else "suggestive" if p < 0.1
            else "no better than the base rate")


def _pair_section(text: str, leader_name: str) -> str:
    section = text[text.index(f"### {leader_name} / Bitcoin"):]
    end = min(i for i in (section.find("\n### ", 4), section.find("\n## ", 4), len(section))
              if i > 0)
    return section[:end]


def _evidence_lines(section: str) -> list[str]:
    """The lines the evidence adds to a pair's section: the lead/lag bullet, the sentence, the
    table's rows and the randomised test's sentence."""
    return [line for line in section.splitlines()
            if line.startswith(("- Lead and lag", "**Against the base rates", "How often",
                                "The randomised test"))
            or HORIZON_ROW.match(line)]


def test_the_evidence_of_2025_12_11_equals_the_marts_and_the_rules(wh):
    from scipy import stats

    from tests.conftest import query

    text = read_brief(wh, STORY)
    marts = query(wh, "SELECT * FROM marts.mart_outcome_significance_daily WHERE date = ?",
                  [STORY])
    for pair_id, leader in LEADER_NAMES.items():
        section = _pair_section(text, leader)
        rows = marts[marts.pair_id == pair_id].set_index("horizon_days")
        assert sorted(rows.index) == [30, 90, 180, 365], pair_id
        sentence = re.search(
            rf"\*\*Against the base rates\.\*\* After the ({NUM}) earlier divergences? with a "
            rf"known outcome, Bitcoin beat the {re.escape(leader)} over the next ({NUM}) days "
            rf"({NUM}) times \(({NUM}) %\)\. Over any \2 days from ({DAY_RE}) on, it did "
            rf"({NUM}) % of the time \(n = ({NUM}) overlapping windows\); after any "
            rf"{re.escape(leader)} record close, ({NUM}) % \(n = ({NUM})\); with Bitcoin at "
            rf"least 20\.0 % below its record high, ({NUM}) % \(n = ({NUM})\)\. Against the "
            rf"base rate, p = ({NUM}) \(exact binomial, one-sided\): ([a-z ]+), n = \1"
            rf"( \(anecdote: fewer than 20 known outcomes\))?\.", section)
        assert sentence, (pair_id, section)
        (n, horizon, k, share, first, base, base_n, record, record_n, below, below_n, p,
         verdict, anecdote) = sentence.groups()
        row = rows.loc[_int(horizon)]
        assert _int(horizon) == 365  # every earlier episode's year had passed
        assert (_int(n), _int(k)) == (row.n_known, row.n_laggard_beat)
        assert _near(share, 100 * row.n_laggard_beat / row.n_known, 1)
        assert first == "2014-09-17" == row.base_rate_first_start_date.date().isoformat()
        for printed, count, share_column, n_column in (
                (base, base_n, "base_rate_share", "base_rate_n_known"),
                (record, record_n, "leader_record_share", "leader_record_n_known"),
                (below, below_n, "laggard_below_share", "laggard_below_n_known")):
            assert _near(printed, 100 * row[share_column], 1), (pair_id, share_column)
            assert _int(count) == row[n_column], (pair_id, n_column)
        exact = stats.binomtest(int(row.n_laggard_beat), int(row.n_known),
                                float(row.base_rate_share), alternative="greater").pvalue
        assert _near(p, exact, 2) and _near(p, row.p_value, 2)
        assert verdict == row.verdict == _rules(exact, int(row.n_known))
        assert bool(anecdote) == (row.n_known < 20)
        # the table: every horizon, the same numbers
        table = [HORIZON_ROW.match(line) for line in section.splitlines()]
        table = {_int(m.group(1)): m for m in table if m}
        assert sorted(table) == [30, 90, 180, 365]
        for horizon, m in table.items():
            row = rows.loc[horizon]
            k, n = _int(m.group(2)), _int(m.group(3))
            assert (k, n) == (row.n_laggard_beat, row.n_known)
            assert _near(m.group(4), 100 * k / n, 1)
            for group, share_column, n_column in (
                    (5, "base_rate_share", "base_rate_n_known"),
                    (7, "leader_record_share", "leader_record_n_known"),
                    (9, "laggard_below_share", "laggard_below_n_known")):
                assert _near(m.group(group), 100 * row[share_column], 1), (horizon, group)
                assert _int(m.group(group + 1)) == row[n_column]
            exact = stats.binomtest(k, n, float(row.base_rate_share),
                                    alternative="greater").pvalue
            assert _near(m.group(11), exact, 2 if exact >= 0.1 else 4), (horizon, exact)
            assert m.group(12).strip() == row.verdict == _rules(exact, n)
            assert m.group(13) == ""  # no randomised test: it ran on later data
    assert "randomised" not in text
    # the sentence, with the real numbers
    rut = _pair_section(text, "Russell 2000")
    assert ("After the 11 earlier divergences with a known outcome, Bitcoin beat the Russell "
            "2000 over the next 365 days 10 times (90.9 %). Over any 365 days from 2014-09-17 "
            "on, it did") in rut


def test_the_lead_lag_line_against_numpy_as_known_that_day(wh, bars):
    """On 2025-12-11, 2020-03-16 and 2021-11-08 (divergent or not), every pair's lead/lag
    line against numpy on the CSVs cut at the day: the weeks to the last Friday by then, the
    peak lag, r, n, the band, lag 0 and the reading; the year's shares of positive daily
    correlations."""
    for day in (STORY, date(2020, 3, 16), date(2021, 11, 8)):
        text = read_brief(wh, day)
        for pair_id, (lead, lag) in PAIRS.items():
            section = _pair_section(text, LEADER_NAMES[pair_id])
            expected = oracle.lead_lag(bars[lead], bars[lag], day)
            m = re.search(
                rf"- Lead and lag \(weekly log returns, weeks ending ({DAY_RE}) to ({DAY_RE}); "
                rf"at lag \+k Bitcoin's week comes k weeks after the .+?'s\): of the lags "
                rf"-8\.\.\+8 weeks, the correlation is largest at lag (0|[+-]\d+ weeks?), r = "
                rf"(-?{NUM}) \(n = ({NUM}) weeks; 95 % band ±({NUM})\)(?:, against r = "
                rf"(-?{NUM}) at lag 0 \(Fisher z = (-?{NUM})\))?: ([a-z0-9 ()]+)\. Over the last "
                rf"365 days, the correlation of daily returns was positive: the 30-session one "
                rf"on ({NUM}) % of ({NUM}) days, the 90-session one on ({NUM}) % of ({NUM}) "
                rf"days\.", section)
            assert m, (day, pair_id, section)
            (first, last, peak, r, n, band, r0, z, reading, s30, n30, s90, n90) = m.groups()
            assert (first, last) == (expected["first_week"].date().isoformat(),
                                     expected["last_week"].date().isoformat()), (day, pair_id)
            assert int(peak.split()[0]) == expected["peak"]
            assert _near(r, expected["r"], 2) and _int(n) == expected["n"]
            assert _near(band, expected["band"], 2)
            if expected["peak"] == 0:
                assert r0 is None
            else:
                assert _near(r0, expected["r0"], 2) and _near(z, expected["z"], 2)
            assert reading == expected["reading"]
            trend = oracle.correlation_trend(bars[lead], bars[lag], pd.Timestamp(day))
            for share, count, window in ((s30, n30, 30), (s90, n90, 90)):
                assert _int(count) == trend[window][0], (day, pair_id, window)
                assert _near(share, 100 * trend[window][1], 1), (day, pair_id, window)


def test_the_lead_lag_line_stays_after_bitcoins_data_stops(wh, bars):
    """Bitcoin's prices end before the newest date: the Russell 2000's and the S&P 500's
    pairs keep their lead/lag line, as of the last session on which Bitcoin had a price too,
    with numpy's reading of the CSVs cut at that day; and every pair has a lead_lag row on
    every day from its first one to the newest (it never vanishes)."""
    text = read_brief(wh, date(2026, 8, 27))
    btc_last = bars["BTC-USD"].index[-1]
    for pair_id in ("^RUT/BTC-USD", "^GSPC/BTC-USD"):
        lead, lag = PAIRS[pair_id]
        both = bars[lead].index[(bars[lead].index <= btc_last)
                                & bars[lead].index.isin(bars[lag].index)][-1]
        expected = oracle.lead_lag(bars[lead], bars[lag], both.date())
        section = _pair_section(text, LEADER_NAMES[pair_id])
        ago = (date(2026, 8, 27) - both.date()).days
        m = re.search(
            rf"- Lead and lag \(as of {both.date()}, {ago} days before this date: the last "
            rf"{LEADER_NAMES[pair_id]} session on which Bitcoin had a price too; weekly log "
            rf"returns, weeks ending ({DAY_RE}) to ({DAY_RE}); .+?largest at lag "
            rf"(0|[+-]\d+ weeks?), r = (-?{NUM})", section)
        assert m, (pair_id, section)
        first, last, peak, r = m.groups()
        assert (first, last) == (expected["first_week"].date().isoformat(),
                                 expected["last_week"].date().isoformat())
        assert int(peak.split()[0]) == expected["peak"] and _near(r, expected["r"], 2)
    with connect(wh, read_only=True) as con:
        gaps = con.execute("""
            SELECT pair_id, min(brief_date), max(brief_date), count(*),
                   (SELECT max(brief_date) FROM marts.mart_daily_brief)
            FROM marts.mart_daily_brief WHERE fact_kind = 'lead_lag'
            GROUP BY pair_id""").fetchall()
    assert {g[0] for g in gaps} == set(PAIRS)
    for pair_id, first, last, n, newest in gaps:
        assert last == newest and n == (last - first).days + 1, pair_id


def test_a_day_that_is_not_divergent_states_no_comparison(wh):
    """2021-11-08: the leaders and Bitcoin at records together, no pair divergent: the brief
    invents no comparison (no row, no sentence, no table), and still reads the lead and lag."""
    rows = _rows(wh, date(2021, 11, 8))
    assert not any(r["is_divergent"] for r in _kind(rows, "divergence"))
    assert _kind(rows, "outcome_comparison") == [] and _kind(rows, "outcome_randomised") == []
    text = read_brief(wh, date(2021, 11, 8))
    assert "base rate" not in text and "p = " not in text and "earlier divergence" not in text
    assert text.count("- Lead and lag") == 3


def test_the_comparison_rows_are_the_marts_on_every_divergent_day(wh):
    """Every row of mart_outcome_significance_daily with an earlier episode is an
    outcome_comparison row of its day, number for number, and there are no others."""
    from tests.conftest import query

    joined = query(wh, """
        SELECT count(*) AS n,
               count(*) FILTER (WHERE b.brief_date IS NULL OR o.date IS NULL) AS unmatched,
               count(*) FILTER (WHERE b.n_known IS DISTINCT FROM o.n_known
                   OR b.n_laggard_beat IS DISTINCT FROM o.n_laggard_beat
                   OR b.base_rate_share IS DISTINCT FROM o.base_rate_share
                   OR b.base_rate_n_known IS DISTINCT FROM o.base_rate_n_known
                   OR b.leader_record_share IS DISTINCT FROM o.leader_record_share
                   OR b.laggard_below_share IS DISTINCT FROM o.laggard_below_share
                   OR b.p_value IS DISTINCT FROM o.p_value
                   OR b.verdict IS DISTINCT FROM o.verdict) AS different
        FROM (SELECT * FROM marts.mart_daily_brief WHERE fact_kind = 'outcome_comparison') AS b
        FULL JOIN (SELECT * FROM marts.mart_outcome_significance_daily
                   WHERE n_earlier_episodes > 0) AS o
          ON o.pair_id = b.pair_id AND o.date = b.brief_date
          AND o.horizon_days = b.horizon_days""").iloc[0]
    assert joined.n > 1000 and joined.unmatched == 0 and joined.different == 0


@pytest.fixture(scope="module")
def story_cut(tmp_path_factory, real_data, dbt_manifest):
    """The real history cut at 2025-12-11 (every file), run through the whole pipeline: the
    warehouse of someone who ran lockstep that evening."""
    from tests.conftest import cut_real_history, materialize_all

    tmp = tmp_path_factory.mktemp("story_cut")
    cut_real_history(real_data, tmp / "data", STORY.isoformat())
    result, warehouse = materialize_all(tmp, source="files", data_dir=str(tmp / "data"))
    assert result.success
    return warehouse


def test_the_evidence_of_2025_12_11_is_what_that_evening_knew(wh, story_cut):
    """The brief of 2025-12-11 on the whole history states, line for line, the evidence of
    the brief of the history cut at 2025-12-11: nothing from a later price. Only the cut's
    brief, whose newest day that is, carries the randomised test (run on the whole stored
    history): its p-values and words are its mart's rows, over exactly the start days and
    episodes the whole history's brief counted that day."""
    from tests.conftest import query

    full, cut = read_brief(wh, STORY), read_brief(story_cut, STORY)
    randomised = query(story_cut, "SELECT * FROM marts.mart_outcome_randomised")
    as_of = query(wh, "SELECT * FROM marts.mart_outcome_significance_daily WHERE date = ?",
                  [STORY])
    for pair_id, leader in LEADER_NAMES.items():
        ours, theirs = (_evidence_lines(_pair_section(t, leader)) for t in (full, cut))
        assert len(ours) == 7, ours  # lead/lag, sentence, intro, four horizons
        shuffled = [line for line in theirs if line.startswith("The randomised test")]
        assert len(shuffled) == 1 and "randomised" not in "\n".join(ours)
        tests = randomised[randomised.pair_id == pair_id].set_index("horizon_days")
        for line, other in zip(ours, [t for t in theirs if t not in shuffled], strict=True):
            m = HORIZON_ROW.match(line)
            if not m:
                assert line == other
                continue
            # the cut's table has two more columns, the randomised test's
            assert other.startswith(line + " ")
            horizon = _int(m.group(1))
            r = tests.loc[horizon]
            [counted] = as_of[(as_of.pair_id == pair_id)
                              & (as_of.horizon_days == horizon)].itertuples()
            assert (r.n_known, r.n_laggard_beat, r.n_eligible_days) == (
                counted.n_known, counted.n_laggard_beat, counted.base_rate_n_known)
            p = ("< 0.001" if r.p_value < 0.001 else f"{r.p_value:.2f}" if r.p_value >= 0.1
                 else f"{r.p_value:.3g}")
            assert other == f"{line} {p} | {r.verdict} |", (other, r)
        r = tests.loc[365]
        assert (f": {r.method}, {r.draws:,} draws with seed {r.seed}, Monte-Carlo standard "
                f"error {r.p_value_mc_se:.3f}. At 365 days, p = {r.p_value:.2f}: {r.verdict}."
                ) in shuffled[0]
