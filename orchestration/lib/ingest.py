"""The machinery every ingesting source shares: fetch -> validate -> idempotent upsert into
DuckDB's raw schema, the `*_all_loaded` check, and the reference tables from the catalog.

A source's assets (orchestration/sources/<source>/assets.py) call `ingest` with their client,
their table and their validation; they stay thin. pandas, DuckDB and the clients are
imported inside the functions, not here: the code location loads without them
(tests/test_definitions.py keeps it so).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.formatting import plural
from orchestration.lib.warehouse import (
    TableSpec,
    connect,
    ensure_raw_schema,
    last_dates,
    replace_table,
    upsert,
    writer_lock,
)
from orchestration.resources import LockstepResource

if TYPE_CHECKING:
    import pandas as pd

    from orchestration.sources.base import FetchResult

SYNTHETIC_BANNER = "SYNTHETIC demo data -- generated, not market data"

def _per_name_table(stats: "pd.DataFrame", label: str) -> str:
    lines = [
        f"| {label} | first date | last date | received | inserted | updated |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in stats.itertuples(index=False):
        lines.append(
            f"| {row.name} | {row.first_date} | {row.last_date} | {row.received} "
            f"| {row.inserted} | {row.updated} |"
        )
    return "\n".join(lines)


def _listing(problems: dict[str, str]) -> str:
    return "\n".join(f"- {name}: {why}" for name, why in sorted(problems.items()))


def ingest(
    context: dg.AssetExecutionContext,
    lockstep: LockstepResource,
    spec: TableSpec,
    source,
    fetch: Callable[[dict], "FetchResult"],
    problems_of: Callable[["pd.DataFrame"], "pd.DataFrame"],
    label: str,
    window: tuple[date | None, date | None] = (None, None),
) -> dict:
    """Fetch, validate and upsert; return (metadata, failures, metadata of the quarantined
    rows). Stores what is valid, and quarantines in the same transaction the rows that are
    not (`problems_of` names them; lib/quarantine.py); a symbol/series that failed whole is
    named in `failures` (and the all-loaded check), never silently skipped; when every name
    failed (nothing arrived, nothing was unchanged), raises a Failure."""
    import pandas as pd

    from orchestration.lib.quarantine import identify, with_kept
    from orchestration.lib.quarantine import store as store_quarantine
    from orchestration.lib.validation import empty_rejected
    from orchestration.sources.base import SourceError

    settings = lockstep.settings()
    preflight = getattr(source, "preflight", None)
    if preflight is not None:
        try:
            preflight()  # no network or no DNS: fail now, not after minutes of retries
        except SourceError as exc:
            raise dg.Failure(description=str(exc)) from None
    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            ensure_raw_schema(con)
            stored_last = last_dates(con, spec)
            read_state = getattr(source, "read_state", None)
            if read_state is not None:  # what the source kept to read less (files source)
                read_state(con)

    result = fetch(stored_last)
    _retry_step_if_rate_limited(context, lockstep, spec.name, result)
    start, end = window
    outside_names: set[str] = set()
    found = result.rejected if result.rejected is not None else empty_rejected()
    if (start or end) and not result.frame.empty:
        dates = pd.to_datetime(result.frame["date"]).dt.date
        keep = pd.Series(True, index=result.frame.index)
        if start:
            keep &= dates >= start
        if end:
            keep &= dates <= end
        outside = int((~keep).sum())
        outside_names = set(result.frame.loc[~keep, spec.group])
        result.frame = result.frame[keep]
        context.log.info(f"{spec.name}: loading {start or '...'} to {end or '...'}")
        if outside:
            result.notes[f"({outside:,} rows)"] = (
                f"outside the requested years {start or '...'} to {end or '...'}; not loaded "
                f"by this run")
    if (start or end) and len(found):  # unreadable rows of the window (or of no known date)
        dates = pd.to_datetime(found["date"]).dt.date
        found = found[dates.isna() | (((dates >= start) if start else True)
                                      & ((dates <= end) if end else True))]
    rejects = problems_of(result.frame) if not result.frame.empty else empty_rejected()
    good = result.frame.drop(index=rejects.index) if len(rejects) else result.frame
    found = pd.concat([f for f in (found, rejects) if len(f)]) if len(found) or len(rejects) \
        else empty_rejected()
    files = found["symbol_or_series"].map(result.files)  # the files source's; live: none
    found = identify(spec.name, found.assign(file=files.where(files.notna(), None)))
    failures = result.failures

    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    new_in_quarantine, seen = [], []

    def also(con) -> None:  # in the transaction that stores the good rows
        new_in_quarantine.append(store_quarantine(con, spec.name, spec.group, found, good,
                                                  result.reread, result.source, ingested_at))
        seen.append(with_kept(con, spec.name, found))  # and whether a stored row is kept
        if result.keep_state is not None:
            result.keep_state(con, set(failures) | outside_names)

    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            ensure_raw_schema(con)
            stats = upsert(con, spec, good, result.source, ingested_at, also=also)
            total_rows = con.execute(f"SELECT count(*) FROM {spec.name}").fetchone()[0]
            still_open = con.execute(
                "SELECT count(*) FROM raw.quarantined_rows WHERE raw_table = ? "
                "AND resolved_at IS NULL", [spec.name]).fetchone()[0]
    new, found = new_in_quarantine[0], seen[0]

    synthetic = result.source == "demo"
    metadata: dict = {
        "source": dg.MetadataValue.text(
            f"{result.source} ({SYNTHETIC_BANNER})" if synthetic else result.source
        ),
        "synthetic": synthetic,
        "warehouse": dg.MetadataValue.path(str(settings.warehouse)),
        "rows_received": int(stats["received"].sum()),
        "rows_inserted": int(stats["inserted"].sum()),
        "rows_updated": int(stats["updated"].sum()),
        "rows_unchanged": int(stats["unchanged"].sum()),
        "dagster/row_count": int(total_rows),
        f"per_{label}": dg.MetadataValue.md(_per_name_table(stats, label)),
        "date_ranges": dg.MetadataValue.json(
            {
                r.name: {"first": str(r.first_date), "last": str(r.last_date),
                         "inserted": int(r.inserted), "updated": int(r.updated)}
                for r in stats.itertuples(index=False)
            }
        ),
    }
    written = stats.dropna(subset=["first_written"])
    if len(written):  # the dates the inserted and updated rows span
        metadata["written_from"] = str(written["first_written"].min())
        metadata["written_to"] = str(written["last_written"].max())
    if result.unchanged:
        metadata["unchanged_at_source"] = result.unchanged  # e.g. files not read again
    if result.missing:
        metadata["not_loaded"] = dg.MetadataValue.md(_listing(result.missing))
        for name, why in sorted(result.missing.items()):
            context.log.warning(f"{label} {name} not loaded: {why}")
    if result.notes:
        metadata["notes"] = dg.MetadataValue.md(_listing(result.notes))
    metadata["rows_quarantined"] = len(found)  # seen in this load: new, or seen again
    quarantined = {
        "dagster/row_count": int(still_open),  # open: not resolved by a later load yet
        "rows_in_this_load": len(found),
        "new_in_this_load": len(new),
        "rows": dg.MetadataValue.md(_quarantine_listing(found) or "none"),
    }
    if len(found):
        context.log.warning(
            f"{spec.name}: {plural(len(found), 'row')} quarantined in raw.quarantined_rows "
            f"({len(new):,} new), the other rows stored:\n" + _quarantine_listing(found))
    announced = _announce_quarantined(context, settings, spec.name, label, new, ingested_at,
                                      synthetic=result.source == "demo")
    if synthetic:
        context.log.warning(f"{spec.name}: {SYNTHETIC_BANNER}")
    context.log.info(
        f"{spec.name}: {metadata['rows_inserted']} inserted, {metadata['rows_updated']} updated, "
        f"{metadata['rows_unchanged']} unchanged from source {result.source}"
    )
    if failures:
        metadata["failed"] = dg.MetadataValue.md(_listing(failures))
        if len(stats) == 0 and not result.unchanged and not len(found):
            # every name asked for failed (the source is unreachable): nothing to build on.
            # A name that failed beside names unchanged since their last read (a re-run in
            # which only a bad file is read again) holds back only itself, as on the first
            # run: the failed check names it and the run goes on.
            raise dg.Failure(description=failure_summary(spec.name, label, 0, failures),
                             metadata=metadata)
        for name, why in sorted(failures.items()):
            context.log.error(f"{label} {name} held back: {why}")
        announced += _announce_held_back(context, settings, spec.name, label, failures)
    metadata["alerts_announced"] = announced
    return metadata, failures, quarantined


def quarantine_spec(key: dg.AssetKey, table: str, label: str) -> dg.AssetSpec:
    """The rows a raw asset's step quarantined instead of storing them (raw.quarantined_rows
    where raw_table = `table`): written by that step, so its multi-asset declares it."""
    from orchestration.partitions import HISTORY

    return dg.AssetSpec(
        key, group_name="raw", kinds={"python", "duckdb"}, partitions_def=HISTORY,
        description=(
            f"The rows meant for {table} that failed validation (a cell that is not a date "
            f"or a number, a value that is not positive or finite, a date in the future, two "
            f"rows for one date), kept in raw.quarantined_rows with their file, line, value "
            f"and reason, written in the transaction that stores the {label}'s good rows. "
            f"A row stays open until a later load stores a good row for its date or reads "
            f"the source again without it."))


def _quarantine_listing(found: "pd.DataFrame", listed: int = 20) -> str:
    from orchestration.lib.quarantine import describe

    lines = [f"- {row['symbol_or_series']} {describe(row)}"
             for _, row in found.head(listed).iterrows()]
    if len(found) > listed:
        lines.append(f"- ... and {len(found) - listed:,} more (raw.quarantined_rows)")
    return "\n".join(lines)


def _announce_quarantined(context, settings, table: str, label: str, new: "pd.DataFrame",
                          at: datetime, synthetic: bool) -> int:
    """One alert per symbol or series with rows quarantined for the first time by this load
    (a row seen again while open is never announced again)."""
    from orchestration.lib.alerts import Event, announce_now, fingerprint
    from orchestration.lib.quarantine import describe

    events = []
    for name, rows in new.groupby("symbol_or_series", sort=True):
        said = [describe(row) for _, row in rows.head(3).iterrows()]
        more = f"; and {len(rows) - 3:,} more" if len(rows) > 3 else ""
        events.append(Event(
            key=f"quarantined|{table}|{name}|{fingerprint(at, *sorted(rows['row_key']))}",
            kind="quarantined", date=datetime.now(UTC).date(), subject=str(name),
            text=(f"{plural(len(rows), 'row')} of {label} {name} quarantined: the source's row "
                  f"could not be stored in {table} (its other rows loaded): "
                  + " -- ".join(said) + more
                  + ". They stay in raw.quarantined_rows until a later load replaces them "
                    "or the source no longer has them."),
            details={"table": table, "rows": [describe(row) for _, row in rows.iterrows()]},
            synthetic=synthetic))
    return len(announce_now(settings, events, context))


def _retry_step_if_rate_limited(context, lockstep: LockstepResource, table: str,
                                result: "FetchResult") -> None:
    """A rate-limit episode that outlasted the client's retries (every failure is HTTP 429):
    ask Dagster to retry the whole step later, with a long, growing wait, before anything
    is written. Any other failure, or the last allowed attempt, goes on: what arrived is
    stored and the failures are named by the all-loaded check."""
    import random

    limited = result.rate_limited & result.failures.keys()
    if not result.failures or limited != result.failures.keys():
        return
    attempt = context.retry_number  # 0 on the first attempt
    if attempt >= lockstep.rate_limit_step_retries:
        context.log.warning(f"{table}: still rate limited after {attempt} step retries; "
                            f"storing what arrived")
        return
    wait = lockstep.rate_limit_step_wait_s * 2 ** attempt * (0.75 + random.random() / 2)
    context.log.warning(
        f"{table}: rate limited ({', '.join(sorted(limited))}) beyond the client's retries; "
        f"Dagster retries this step in {wait:,.0f} s (retry {attempt + 1} of "
        f"{lockstep.rate_limit_step_retries})")
    raise dg.RetryRequested(max_retries=lockstep.rate_limit_step_retries,
                            seconds_to_wait=wait)


def _announce_held_back(context, settings, table: str, label: str,
                        failures: dict[str, str]) -> int:
    from orchestration.lib.alerts import Event, announce_now, fingerprint

    lines = [f"{name}: {' '.join(str(why).split())}" for name, why in sorted(failures.items())]
    check = f"{table.split('.')[-1]}_all_loaded"
    return len(announce_now(settings, [Event(
        key=f"check_failed|{check}|{fingerprint(*lines)}", kind="check_failed",
        date=datetime.now(UTC).date(), subject=table,
        text=(f"{plural(len(failures), label)} held back from {table}, the others loaded: "
              + "; ".join(line[:160] for line in lines[:5])
              + (f"; and {len(lines) - 5} more" if len(lines) > 5 else "") + "."),
        details={"check": check, "problems": lines})], context))


def loaded_check(asset_key: dg.AssetKey, check_name: str, label: str,
                 failures: dict[str, str], table: str, stored: int) -> dg.AssetCheckResult:
    """Whether every symbol (series) that had data at the source was stored. A failure holds
    back only its own symbol: the step succeeds with what arrived, the marts rebuild on it,
    and this check fails (red in the UI, in `make run`'s summary, an alert) naming it."""
    lines = failure_summary(table, label, stored, failures).splitlines()[1:] if failures else []
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{plural(len(failures), label)} held back" if failures
                     else f"every {label} with data was stored"),
        metadata={"problems": dg.MetadataValue.md(
                      "\n".join(f"- {line.strip()}" for line in lines) or "none"),
                  "count": len(failures)})


def failure_summary(table: str, label: str, stored: int, failures: dict[str, str],
                    listed: int = 8) -> str:
    """A few lines a person reads in the terminal: which source table, how many made it,
    and per failed symbol/series its cause, whole, on one line (the terminal's summary wraps
    it; the first `listed`, all of them in the materialization's `failed` metadata)."""
    lines = [f"{table}: stored {plural(stored, label)}; {len(failures)} failed:"]
    for name, why in sorted(failures.items())[:listed]:
        lines.append(f"  {name}: " + " ".join(str(why).split()))
    if len(failures) > listed:
        lines.append(f"  ... and {len(failures) - listed} more (see the `failed` metadata)")
    return "\n".join(lines)


def replace_raw_table(context, lockstep: LockstepResource, table: str,
                      frame: "pd.DataFrame") -> None:
    """Rewrite a raw table whole (under the writer lock, in one transaction)."""
    settings = lockstep.settings()
    with writer_lock(settings.warehouse, log=context.log.info):
        with connect(settings.warehouse, log=context.log.warning) as con:
            ensure_raw_schema(con)
            replace_table(con, table, frame)


def write_reference(context, lockstep: LockstepResource, table: str,
                    frame: "pd.DataFrame") -> dg.MaterializeResult:
    """Rewrite a reference table (the catalog's instruments or series) whole."""
    replace_raw_table(context, lockstep, table, frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(frame)})
