"""Incremental marts equal a full rebuild: random sequences of appends, revisions deep in
history, new symbols, backfills of earlier dates and symbols dropped from the catalog go
through incremental dbt builds, and every row of every incremental model (and what is built
on it) must equal a `--full-refresh` build of the same final data (floats within 1e-12).
A second test proves the builds are incremental: a row the new data cannot change is not
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.lib.warehouse import connect, ensure_raw_schema, replace_table, upsert
from orchestration.sources.yahoo.tables import MARKET
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

# what the incremental models feed, compared row by row with a full rebuild
COMPARED = ["intermediate.int_running_peaks", "marts.fct_drawdowns_daily",
            "marts.fct_all_time_highs", "marts.fct_drawdown_episodes"]
SELECTION = ["+int_running_peaks", "fct_drawdowns_daily", "fct_all_time_highs",
             "fct_drawdown_episodes"]
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

    def build(self, *extra: str) -> None:
        env = {**os.environ, "LOCKSTEP_WAREHOUSE": str(self.path),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        out = subprocess.run(
            [self.dbt, "run", "--quiet", "--select", *SELECTION, "--profiles-dir", ".",
             "--target-path", str(self.target), *extra],
            cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

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


@settings(max_examples=5, deadline=None, derandomize=True,
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


def test_real_history_cut_then_extended_with_a_deep_revision(sandbox, real_data, catalog):
    """The real history (../shared/data/real) stored up to mid-2020 and built; then the rest
    arrives together with revisions far back (a 2015 bar of BTC-USD and of ^RUT, a 1930s
    bar of ^GSPC); the incremental build equals a whole rebuild, every row."""
    from orchestration.sources.calendars.client import exchange_sessions
    from orchestration.sources.files.client import FilesSource
    from orchestration.sources.yahoo.validation import market_problems

    instruments = tuple(i for i in catalog.market if i.symbol in ("BTC-USD", "^RUT", "^GSPC"))
    fetched = FilesSource(real_data).fetch_market(instruments)
    assert not fetched.failures and not market_problems(fetched.frame)
    prices = fetched.frame.assign(date=pd.to_datetime(fetched.frame.date).dt.date)
    for suffix in ("", ".wal"):
        Path(str(sandbox.path) + suffix).unlink(missing_ok=True)
    with connect(sandbox.path) as con:
        ensure_raw_schema(con)
        replace_table(con, "raw.trading_sessions",
                      exchange_sessions(["XNYS"], cache_dir=sandbox.path.parent / "calendars"))
        replace_table(con, "raw.instruments", pd.DataFrame(
            [(i.symbol, i.name, i.asset_class, i.calendar) for i in instruments],
            columns=["symbol", "name", "asset_class", "calendar"]))
        upsert(con, MARKET, prices[prices.date <= date(2020, 6, 30)], "files",
               datetime(2026, 1, 1))
    sandbox.build()

    revised = prices.copy()
    for symbol, day, factor in (("BTC-USD", date(2015, 3, 2), 1.5), ("^RUT", date(2015, 3, 2),
                                                                     0.9),
                                ("^GSPC", date(1932, 6, 1), 1.2)):
        at = (revised.symbol == symbol) & (revised.date == day)
        assert at.sum() == 1, (symbol, day)
        for column in ("open", "high", "low", "close", "adj_close"):
            revised.loc[at, column] = revised.loc[at, column] * factor
    with connect(sandbox.path) as con:
        stats = upsert(con, MARKET, revised, "files", datetime(2026, 1, 2)).set_index("name")
    assert int(stats.updated.sum()) == 3 and int(stats.inserted.sum()) > 2000
    sandbox.build()
    incremental = sandbox.tables()
    assert len(incremental["intermediate.int_running_peaks"]) == len(prices)
    sandbox.build("--full-refresh")
    assert_same(incremental, sandbox.tables())
