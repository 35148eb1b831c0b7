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
        r"This episode began")
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
