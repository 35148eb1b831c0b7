"""Incremental marts equal a full rebuild: random sequences of appends, revisions deep in
history, new symbols, backfills of earlier dates and symbols dropped from the catalog go
through incremental dbt builds, and every row of every incremental model (and what is built
on it) must equal a `--full-refresh` build of the same final data (floats within 1e-12).
The builds are run the way the dbt asset runs them: the brief gets the first date whose
inputs changed (orchestration.lib.incremental), and what the build read is recorded after.
Other tests prove the builds are incremental: a row the new data cannot change is not
rewritten."""

import math
import os
import random
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.lib.incremental import CHANGED_FROM, changed_from, record_inputs
from orchestration.lib.warehouse import connect, ensure_raw_schema, replace_table, upsert
from orchestration.sources.fred.tables import FRED
from orchestration.sources.yahoo.tables import MARKET
from tests.conftest import PROJECT_ROOT

# what the incremental models feed, compared row by row with a full rebuild
COMPARED = ["intermediate.int_running_peaks", "marts.fct_drawdowns_daily",
            "marts.fct_all_time_highs", "marts.fct_divergence_daily",
            "marts.fct_drawdown_episodes", "marts.mart_daily_brief",
            # the brief's fact models (incremental each), of which it is the union
            *sorted(f"intermediate.{p.stem}" for p in
                    (PROJECT_ROOT / "dbt_project/models/intermediate/brief").glob("*.sql"))]
SELECTION = ["+int_running_peaks", "fct_drawdowns_daily", "fct_all_time_highs",
             "fct_drawdown_episodes", "+mart_daily_brief"]
# the synthetic symbols' pairs: a crypto laggard behind two equity leaders
SYNTHETIC_PAIRS = [{"leader": "BBB", "laggard": "AAA"}, {"leader": "CCC", "laggard": "AAA"}]
START = date(2020, 1, 1)
SESSIONS_UNTIL = date(2021, 12, 31)


def _is_session(calendar: str, day: date) -> bool:
    return calendar == "24/7" or day.weekday() < 5


class Sandbox:
    """A warehouse with the raw tables, written the way ingestion writes them (upserts that
    keep revisions, the catalog's reference tables rewritten whole), and dbt run on it. One
    path for the whole module, so dbt's partial parsing holds after the first run."""

    def __init__(self, root: Path):
        self.path = root / "lockstep.duckdb"
        self.target = root / "target"
        self.clock = datetime(2026, 1, 1)
        self.dbt = str(__import__("orchestration.settings", fromlist=["x"]).dbt_executable())
        self.vars: dict = {}
        self.last_from = None  # where the last build started the brief

    def reset(self, symbols: dict[str, dict]) -> None:
        for suffix in ("", ".wal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        with connect(self.path) as con:
            ensure_raw_schema(con)
            sessions = [("XNYS", START + timedelta(days=i))
                        for i in range(-400, (SESSIONS_UNTIL - START).days + 1)
                        if (START + timedelta(days=i)).weekday() < 5]
            replace_table(con, "raw.trading_sessions",
                          pd.DataFrame(sessions, columns=["calendar", "session_date"]))
        self.vars = {"divergence_pairs": SYNTHETIC_PAIRS}
        self.seed()
        self.write(symbols)

    def write(self, symbols: dict[str, dict]) -> None:
        self.clock += timedelta(minutes=1)
        with connect(self.path) as con:
            replace_table(con, "raw.instruments", pd.DataFrame(
                [(s, s, "crypto" if v["calendar"] == "24/7" else "equity_index", v["calendar"])
                 for s, v in sorted(symbols.items()) if v["listed"]],
                columns=["symbol", "name", "asset_class", "calendar"]))
            rows = [(s, d, c, h, c * 0.99, c, c, 1) for s, v in symbols.items()
                    for d, (c, h) in sorted(v["rows"].items())]
            frame = pd.DataFrame(rows, columns=["symbol", "date", "close", "high", "low",
                                                "open", "adj_close", "volume"])
            upsert(con, MARKET, frame, "files", self.clock)

    def dbt_cli(self, *args: str, changed_from: date | None = None) -> None:
        env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(self.path),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        env.pop(CHANGED_FROM, None)
        if changed_from is not None:
            env[CHANGED_FROM] = f"{changed_from:%Y-%m-%d}"
        out = subprocess.run(
            [self.dbt, *args, "--profiles-dir", ".", "--target-path", str(self.target)],
            cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    def seed(self) -> None:
        self.dbt_cli("seed", "--quiet")

    def build(self, *extra: str) -> None:
        """As the dbt asset builds: incremental builds start the brief where the inputs
        changed; what the build read is recorded after it succeeded."""
        start = None
        if "--full-refresh" not in extra:
            start, reason = changed_from(self.path)
            self.last_from, self.last_reason = start, reason
        self.dbt_cli("run", "--quiet", "--select", *SELECTION, *extra,
                     *(["--vars", yaml.safe_dump(self.vars)] if self.vars else []),
                     changed_from=start)
        record_inputs(self.path)

    def tables(self) -> dict[str, pd.DataFrame]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in COMPARED}

    def execute(self, sql: str) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(sql)


def assert_same(incremental: dict[str, pd.DataFrame], full: dict[str, pd.DataFrame]) -> None:
    for table in COMPARED:
        a, b = incremental[table], full[table]
        assert list(a.columns) == list(b.columns), table
        assert len(a) == len(b), f"{table}: {len(a)} rows incrementally, {len(b)} in full"
        for column in a.columns:
            x, y = a[column], b[column]
            if pd.api.types.is_float_dtype(x):
                close = [(math.isnan(p) and math.isnan(q)) or abs(p - q) <= 1e-12 * max(1, abs(q))
                         for p, q in zip(x.astype(float), y.astype(float), strict=True)]
                assert all(close), f"{table}.{column} differs at rows " \
                                   f"{[i for i, ok in enumerate(close) if not ok][:5]}"
            else:
                same = (x == y) | (x.isna() & y.isna())
                assert same.all(), f"{table}.{column} differs: " \
                                   f"{a[~same].head(3).to_dict('records')} vs " \
                                   f"{b[~same].head(3).to_dict('records')}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, dbt_manifest):
    return Sandbox(tmp_path_factory.mktemp("incremental"))


def _price(rng: random.Random, last: float) -> tuple[float, float]:
    # repeats of a few levels make exact ties with the record; otherwise a random walk
    close = rng.choice([100.0, 120.0, last]) if rng.random() < 0.25 else \
        max(0.01, last * math.exp(rng.gauss(0, 0.05)))
    return close, close * (1 + rng.random() * 0.03)


def _days(calendar: str, first: date, n: int, step: int = 1) -> list[date]:
    out, day = [], first
    while len(out) < n:
        if _is_session(calendar, day):
            out.append(day)
        day += timedelta(days=step)
    return out


def _initial(rng: random.Random) -> dict[str, dict]:
    symbols = {}
    for name, calendar in (("AAA", "24/7"), ("BBB", "XNYS"), ("CCC", "XNYS")):
        first = START + timedelta(days=rng.randrange(0, 20))
        last, rows = 100.0, {}
        for day in _days(calendar, first, rng.randrange(15, 40)):
            rows[day] = _price(rng, last)
            last = rows[day][0]
        symbols[name] = {"calendar": calendar, "rows": rows, "listed": True}
    return symbols


def _apply(op: str, rng: random.Random, symbols: dict[str, dict]) -> None:
    listed = sorted(s for s, v in symbols.items() if v["listed"])
    name = rng.choice(listed)
    rows, calendar = symbols[name]["rows"], symbols[name]["calendar"]
    if op == "append":  # new days for some symbols, like a daily refresh
        for s in rng.sample(listed, rng.randrange(1, len(listed) + 1)):
            r = symbols[s]["rows"]
            after = max(r) + timedelta(days=1)
            for day in _days(symbols[s]["calendar"], after, rng.randrange(1, 4)):
                r[day] = _price(rng, r[max(r)][0])
    elif op == "revise":  # a corrected bar deep in history: may make or unmake a record
        day = sorted(rows)[rng.randrange(0, max(1, len(rows) // 3))]
        close = rng.choice([rows[day][0] * rng.uniform(0.5, 1.5), max(c for c, _ in
                                                                         rows.values())])
        rows[day] = (close, close * 1.01)
    elif op == "backfill":  # earlier days arrive: session counts of the calendar may shift
        before = min(rows) - timedelta(days=1)
        for day in _days(calendar, before, rng.randrange(1, 8), step=-1):
            rows[day] = _price(rng, rows[min(rows)][0])
    elif op == "new_symbol":
        new = f"N{len(symbols)}"
        cal = rng.choice(["24/7", "XNYS"])
        first = START + timedelta(days=rng.randrange(-30, 60))
        last, new_rows = 50.0, {}
        for day in _days(cal, first, rng.randrange(1, 20)):
            new_rows[day] = _price(rng, last)
            last = new_rows[day][0]
        symbols[new] = {"calendar": cal, "rows": new_rows, "listed": True}
    elif op == "drop" and len(listed) > 1:  # taken out of the catalog
        symbols[name]["listed"] = False
    # "same": an identical re-read, nothing changes


OPS = st.sampled_from(["append", "append", "revise", "backfill", "new_symbol", "drop", "same"])


@pytest.mark.slow
# each example is several dbt builds: how many a run tries is the hypothesis profile's
# (tests/conftest.py: two; HYPOTHESIS_PROFILE=thorough, ten)
@settings(deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), ops=st.lists(OPS, min_size=2, max_size=4))
def test_incremental_builds_equal_a_full_rebuild(sandbox, seed, ops):
    rng = random.Random(seed)
    symbols = _initial(rng)
    sandbox.reset(symbols)
    sandbox.build()
    for op in ops:
        _apply(op, rng, symbols)
        sandbox.write(symbols)
        sandbox.build()
    incremental = sandbox.tables()
    sandbox.build("--full-refresh")
    assert_same(incremental, sandbox.tables())


@pytest.mark.slow
def test_a_build_rewrites_only_what_changed(sandbox):
    """A sentinel written into stored rows survives the next build where no new data can
    change the row (AAA: only days after it arrive), and is recomputed away where it can
    (BBB: an earlier bar was revised)."""
    rng = random.Random(7)
    symbols = _initial(rng)
    sandbox.reset(symbols)
    sandbox.build()
    aaa, bbb = (sorted(symbols[s]["rows"]) for s in ("AAA", "BBB"))
    sandbox.execute(f"UPDATE intermediate.int_running_peaks SET drawdown_high = 99 "
                    f"WHERE (symbol = 'AAA' AND date = DATE '{aaa[2]}') "
                    f"OR (symbol = 'BBB' AND date = DATE '{bbb[2]}')")
    new_day = aaa[-1] + timedelta(days=1)
    symbols["AAA"]["rows"][new_day] = (1.0, 1.5)
    symbols["BBB"]["rows"][bbb[1]] = (1000.0, 1000.0)  # a revised bar, now the record
    sandbox.write(symbols)
    sandbox.build()
    with duckdb.connect(str(sandbox.path), read_only=True) as con:
        sentinel = dict(con.execute(
            "SELECT symbol, drawdown_high FROM intermediate.int_running_peaks "
            f"WHERE (symbol = 'AAA' AND date = DATE '{aaa[2]}') "
            f"OR (symbol = 'BBB' AND date = DATE '{bbb[2]}')").fetchall())
        added = con.execute("SELECT close, peak_close_date FROM intermediate.int_running_peaks "
                            f"WHERE symbol = 'AAA' AND date = DATE '{new_day}'").fetchone()
        bbb_peak = con.execute("SELECT peak_close, peak_close_date FROM "
                               "intermediate.int_running_peaks WHERE symbol = 'BBB' "
                               f"AND date = DATE '{bbb[2]}'").fetchone()
    assert sentinel["AAA"] == 99.0  # nothing before the new day changed: not rewritten
    assert sentinel["BBB"] != 99.0  # after the revision: recomputed
    expected_peak = max(symbols["AAA"]["rows"].items(), key=lambda kv: (kv[1][0], kv[0]))
    assert added == (1.0, expected_peak[0])
    assert bbb_peak == (1000.0, bbb[1])


def test_a_logic_change_or_the_switch_asks_for_a_full_rebuild(tmp_path):
    """The fingerprint follows the SQL of models and macros, the vars and dbt's version; the
    build rebuilds whole when it changed, when nothing was recorded, or when asked."""
    import shutil

    from orchestration.lib.incremental import (
        full_refresh_reason,
        logic_fingerprint,
        record_fingerprint,
    )

    project = tmp_path / "dbt_project"
    for part in ("models", "macros"):
        shutil.copytree(PROJECT_ROOT / "dbt_project" / part, project / part)
    shutil.copy(PROJECT_ROOT / "dbt_project" / "dbt_project.yml", project)
    first = logic_fingerprint(project, "1.11.0")
    assert logic_fingerprint(project, "1.11.0") == first
    assert logic_fingerprint(project, "1.11.1") != first
    # an engine's stored rows are its own: switching engines rebuilds whole
    assert logic_fingerprint(project, "1.11.0", "duckdb") == first
    assert logic_fingerprint(project, "1.11.0", "spark") != first
    warehouse = tmp_path / "w.duckdb"
    assert full_refresh_reason(warehouse, first, requested=False) is None  # no warehouse yet
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute("CREATE TABLE intermediate.int_running_peaks (x INTEGER)")
    # models not built yet: dbt builds them whole without being asked
    assert full_refresh_reason(warehouse, first, False, {"fct_not_built_yet"}) is None
    assert "no record" in full_refresh_reason(warehouse, first, False, {"int_running_peaks"})
    record_fingerprint(warehouse, first)
    assert full_refresh_reason(warehouse, first, requested=False) is None
    assert full_refresh_reason(warehouse, first, requested=True) == "LOCKSTEP_FULL_REFRESH=1"

    sql = project / "models" / "intermediate" / "int_running_peaks.sql"
    sql.write_text(sql.read_text().replace("close / peak_close - 1", "close / peak_close"))
    edited = logic_fingerprint(project, "1.11.0")
    assert "changed" in full_refresh_reason(warehouse, edited, requested=False)
    config = project / "dbt_project.yml"
    config.write_text(config.read_text().replace("max_daily_move: 0.20", "max_daily_move: 0.25"))
    assert logic_fingerprint(project, "1.11.0") not in (first, edited)
    record_fingerprint(warehouse, edited)  # the record holds the latest build's logic only
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT fingerprint FROM ops.dbt_build_state").fetchall() == \
            [(edited,)]


def test_the_settings_read_lockstep_full_refresh():
    from orchestration.settings import SettingsError, load_settings

    assert load_settings({}).full_refresh is False
    assert load_settings({"LOCKSTEP_FULL_REFRESH": "1"}).full_refresh is True
    assert load_settings({"LOCKSTEP_FULL_REFRESH": "0"}).full_refresh is False
    with pytest.raises(SettingsError, match="LOCKSTEP_FULL_REFRESH='maybe'"):
        load_settings({"LOCKSTEP_FULL_REFRESH": "maybe"})


@pytest.mark.slow
def test_real_history_cut_then_extended_with_a_deep_revision(sandbox, real_data, catalog):
    """The real history (../shared/data/real) stored up to mid-2020 and built; then the rest
    arrives together with revisions far back (a 2015 bar of BTC-USD and of ^RUT, a 1930s
    bar of ^GSPC, a 2015 H.4.1 week); the incremental build equals a whole rebuild, every
    row, the brief included (with its FRED facts)."""
    from orchestration.sources.calendars.client import exchange_sessions
    from orchestration.sources.files.client import FilesSource
    from orchestration.sources.yahoo.validation import market_rejects

    instruments = tuple(i for i in catalog.market if i.symbol in ("BTC-USD", "^RUT", "^GSPC"))
    fetched = FilesSource(real_data).fetch_market(instruments)
    assert not fetched.failures and market_rejects(fetched.frame).empty
    assert fetched.rejected.empty
    prices = fetched.frame.assign(date=pd.to_datetime(fetched.frame.date).dt.date)
    fred = FilesSource(real_data).fetch_fred(catalog.fred).frame
    fred = fred.assign(date=pd.to_datetime(fred.date).dt.date)
    # a series first published after the cut (IORB) would make the brief start over: new
    # series are tested apart
    fred = fred[fred.groupby("series_id").date.transform("min") <= date(2020, 6, 30)]
    cut = date(2020, 6, 30)
    for suffix in ("", ".wal"):
        Path(str(sandbox.path) + suffix).unlink(missing_ok=True)
    with connect(sandbox.path) as con:
        ensure_raw_schema(con)
        replace_table(con, "raw.trading_sessions",
                      exchange_sessions(["XNYS"], cache_dir=sandbox.path.parent / "calendars"))
        replace_table(con, "raw.instruments", pd.DataFrame(
            [(i.symbol, i.name, i.asset_class, i.calendar) for i in instruments],
            columns=["symbol", "name", "asset_class", "calendar"]))
        replace_table(con, "raw.fred_series", pd.DataFrame(
            [(s.id, s.name, s.units, s.frequency) for s in catalog.fred],
            columns=["series_id", "name", "units", "frequency"]))
        upsert(con, MARKET, prices[prices.date <= cut], "files", datetime(2026, 1, 1))
        upsert(con, FRED, fred[fred.date <= cut], "files", datetime(2026, 1, 1))
    sandbox.vars = {}
    sandbox.seed()
    sandbox.build()

    revised = prices.copy()
    for symbol, day, factor in (("BTC-USD", date(2015, 3, 2), 1.5), ("^RUT", date(2015, 3, 2),
                                                                     0.9),
                                ("^GSPC", date(1932, 6, 1), 1.2)):
        at = (revised.symbol == symbol) & (revised.date == day)
        assert at.sum() == 1, (symbol, day)
        for column in ("open", "high", "low", "close", "adj_close"):
            revised.loc[at, column] = revised.loc[at, column] * factor
    week = (fred.series_id == "WALCL") & (fred.date == date(2015, 3, 4))
    assert week.sum() == 1
    fred.loc[week, "value"] = fred.loc[week, "value"] + 50_000.0
    # then: the rest up to late November 2025 with the revisions, and the days from then
    # on (Bitcoin's fall from its October peak while the Russell 2000 set records) last
    late = date(2025, 11, 28)
    with connect(sandbox.path) as con:
        stats = upsert(con, MARKET, revised[revised.date <= late], "files",
                       datetime(2026, 1, 2)).set_index("name")
        fred_stats = upsert(con, FRED, fred[fred.date <= late], "files", datetime(2026, 1, 2))
    assert int(stats.updated.sum()) == 3 and int(stats.inserted.sum()) > 2000
    assert int(fred_stats.updated.sum()) == 1
    sandbox.build()
    # the brief started at the oldest revision
    assert sandbox.last_from == date(1932, 6, 1), sandbox.last_reason
    with connect(sandbox.path) as con:
        upsert(con, MARKET, revised, "files", datetime(2026, 1, 3))
        upsert(con, FRED, fred, "files", datetime(2026, 1, 3))
    sandbox.build()
    # the day after the newest stored date of the symbol or series that was most behind
    last = prices[prices.date <= late].groupby("symbol").date.max().min()
    assert date(2025, 11, 1) < sandbox.last_from <= last + timedelta(days=1), \
        sandbox.last_reason
    incremental = sandbox.tables()
    assert len(incremental["intermediate.int_running_peaks"]) == len(prices)
    sandbox.build("--full-refresh")
    assert_same(incremental, sandbox.tables())


def test_the_brief_starts_where_the_inputs_changed(tmp_path):
    """inputs_changed_from, by hand: what arrived since the recorded build decides the first
    brief date recomputed; new symbols or series and changed reference tables mean every
    date; the day after a symbol's last date before counts (a gap the new rows close)."""
    from orchestration.lib.incremental import inputs_changed_from

    path = tmp_path / "w.duckdb"
    bars = [("AAA", date(2024, 1, d), 10.0 + d) for d in range(1, 11)]
    bars += [("BBB", date(2024, 1, d), 5.0) for d in range(1, 6)]  # BBB stops on the 5th

    def store(rows, at, series=()):
        frame = pd.DataFrame([(s, d, c, c, c, c, c, 1) for s, d, c in rows],
                             columns=["symbol", "date", "close", "high", "low", "open",
                                      "adj_close", "volume"])
        with connect(path) as con:
            upsert(con, MARKET, frame, "files", at)
            if series:
                upsert(con, FRED, pd.DataFrame(series, columns=["series_id", "date", "value"]),
                       "files", at)

    with connect(path) as con:
        ensure_raw_schema(con)
        replace_table(con, "raw.instruments", pd.DataFrame(
            [("AAA", "A", "crypto", "24/7"), ("BBB", "B", "equity_index", "XNYS")],
            columns=["symbol", "name", "asset_class", "calendar"]))
        replace_table(con, "raw.trading_sessions", pd.DataFrame(
            [("XNYS", date(2024, 1, d)) for d in range(1, 32)],
            columns=["calendar", "session_date"]))
    store(bars, datetime(2026, 1, 1), [("WALCL", date(2024, 1, 3), 7000.0)])

    def changed():
        with duckdb.connect(str(path), read_only=True) as con:
            return inputs_changed_from(con)

    assert changed() == (None, "every date (no record of the inputs the last build read)")
    record_inputs(path)
    assert changed()[0] == date(2024, 1, 11)  # nothing arrived: no brief date recomputed
    store(bars, datetime(2026, 1, 2))  # an identical re-read
    assert changed()[0] == date(2024, 1, 11)
    store([("AAA", date(2024, 1, 11), 30.0)], datetime(2026, 1, 3))
    assert changed() == (date(2024, 1, 11), "from 2024-01-11 on (1 symbols or series with "
                                            "new or revised rows)")
    # BBB resumes after a gap: from the day after its last bar before
    store([("BBB", date(2024, 1, 9), 6.0)], datetime(2026, 1, 4))
    assert changed()[0] == date(2024, 1, 6)
    # a revised observation deep in a series
    store([], datetime(2026, 1, 5), [("WALCL", date(2024, 1, 3), 7100.0)])
    assert changed()[0] == date(2024, 1, 3)
    record_inputs(path)
    assert changed()[0] == date(2024, 1, 12)
    store([("CCC", date(2024, 1, 12), 1.0)], datetime(2026, 1, 6))  # a symbol's first data
    assert changed() == (None, "every date (first data of symbol CCC)")
    record_inputs(path)
    with connect(path) as con:  # a past session removed from a calendar
        con.execute("DELETE FROM raw.trading_sessions WHERE session_date = DATE '2024-01-02'")
    assert changed()[0] is None and "trading sessions" in changed()[1]
    record_inputs(path)
    with connect(path) as con:  # sessions after the newest price: no brief date uses them
        con.execute("DELETE FROM raw.trading_sessions WHERE session_date = DATE '2024-01-30'")
    assert changed()[0] == date(2024, 1, 13)


@pytest.mark.slow
def test_the_brief_and_the_episodes_keep_what_came_before_the_change(sandbox):
    """Sentinels planted in the brief before the first changed date, in every record of
    fct_all_time_highs and in every drawdown episode, survive the next build (a new day of
    AAA, a record) where nothing new can change them: the brief's earlier days, every
    earlier record, AAA's episodes before its restart peak (the peak of its last row before
    the new day), every episode of the other symbols. The new day's rows are there."""
    rng = random.Random(11)
    symbols = _initial(rng)
    sandbox.reset(symbols)
    sandbox.build()
    first = min(min(v["rows"]) for v in symbols.values())
    sandbox.execute("UPDATE marts.mart_daily_brief SET subject_name = 'sentinel' "
                    f"WHERE brief_date = DATE '{first}'")
    sandbox.execute("UPDATE marts.fct_drawdown_episodes SET max_drawdown = 99")
    sandbox.execute("UPDATE marts.fct_all_time_highs SET history_note = 'sentinel'")
    with duckdb.connect(str(sandbox.path), read_only=True) as con:
        episodes = con.execute("SELECT symbol, peak_date FROM marts.fct_drawdown_episodes"
                               ).df()
    new_day = max(symbols["AAA"]["rows"]) + timedelta(days=1)

    def restart(rows: dict) -> date:  # a symbol with rows from new_day on: its last peak
        before = {d: c for d, (c, _) in rows.items() if d < new_day}
        if max(rows) < new_day:
            return date.max  # no rows from then on: not recomputed at all
        return max(d for d, c in before.items() if c >= max(before[e] for e in before if e <= d))

    restarts = {s: restart(v["rows"] | ({new_day: (0, 0)} if s == "AAA" else {}))
                for s, v in symbols.items()}
    survivors = sum(int(peak < restarts[s]) for s, peak in
                    zip(episodes.symbol, episodes.peak_date.dt.date, strict=True))
    aaa = symbols["AAA"]["rows"]
    # a record close and a record high: above every earlier close and high
    aaa[new_day] = (max(c for c, _ in aaa.values()) * 1.5, max(h for _, h in aaa.values()) * 1.5)
    sandbox.write(symbols)
    sandbox.build()
    assert sandbox.last_from == new_day, sandbox.last_reason
    with duckdb.connect(str(sandbox.path), read_only=True) as con:
        kept = con.execute("SELECT count(*) FROM marts.mart_daily_brief WHERE brief_date = "
                           f"DATE '{first}' AND subject_name <> 'sentinel'").fetchone()[0]
        standing = con.execute("SELECT close FROM marts.mart_daily_brief WHERE brief_date = "
                               f"DATE '{new_day}' AND fact_kind = 'standing' "
                               "AND symbol = 'AAA' AND basis = 'close'").fetchone()
        planted = con.execute("SELECT count(*) FROM marts.fct_drawdown_episodes "
                              "WHERE max_drawdown = 99").fetchone()[0]
        records = con.execute(
            "SELECT date >= ? AS new, count(*), count(*) FILTER (history_note = 'sentinel'), "
            "count(*) FILTER (symbol = 'AAA' AND date = ?) "
            "FROM marts.fct_all_time_highs GROUP BY 1 ORDER BY 1", [new_day, new_day]).fetchall()
    assert kept == 0  # not rewritten
    assert standing == (aaa[new_day][0],)
    assert planted == survivors
    # every earlier record kept as stored; from the new day on every record written again,
    # AAA's two of the new day (close, high) among them
    assert records[0][0] is False and records[0][1] == records[0][2] > 0
    assert records[1][0] is True and records[1][2:] == (0, 2)
    assert 0 < survivors < len(episodes)  # some episodes recomputed, some not
