"""What the Dagster UI shows on the marts' materializations: row counts and date ranges (of
the date column each model declares in its YAML, orchestration/project.py
`mart_date_columns`), the market snapshot as a Markdown table, and a chart of the default
pair's drawdowns with divergent days shaded. Everything is read from the marts dbt built;
nothing is recomputed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.formatting import CELL, below, money, sessions, signed_pct, when

if TYPE_CHECKING:
    import duckdb

SNAPSHOT_BANNER = "**SYNTHETIC demo data -- generated, not market data**\n\n"


def table_facts(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                date_col: str | None) -> dict:
    """Row count, and the range of the table's date column `date_col` (None: it has none)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                         "AND table_name = ?", [schema, table]).fetchone()[0]
    if not exists:
        return {}
    if date_col:
        n, first, last = con.execute(
            f'SELECT count(*), min("{date_col}"), max("{date_col}") FROM {schema}."{table}"'
        ).fetchone()
        return {"dagster/row_count": int(n), "date_range": f"{first} to {last}"}
    n = con.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]
    return {"dagster/row_count": int(n)}


def snapshot_markdown(con: duckdb.DuckDBPyConnection) -> str:
    from orchestration.snapshot import quarantine_note

    rows = con.execute("""
        SELECT symbol, latest_date, latest_close, change_1d, change_ytd,
               fraction_below_record_close, record_close_date, is_record_today, sessions_behind,
               is_stale, quarantined_rows, latest_quarantined_date, is_synthetic
        FROM marts.mart_market_snapshot ORDER BY fraction_below_record_close DESC""").fetchall()
    lines = ["| symbol | latest | close | 1 day | YTD | below record close | record date |",
             "|---|---|---:|---:|---:|---:|---|"]
    for (sym, latest, close, d1, ytd, fraction_below, rec_date, at_record, behind, stale,
         quarantined, newest_quarantined, _) in rows:
        below_txt = "**at record**" if at_record else below(fraction_below, CELL)
        latest = when(latest, CELL)
        if stale:
            latest = f"{latest} (**stale**: {sessions(behind)} behind)"
        if quarantined:
            note = quarantine_note({"quarantined_rows": quarantined,
                                    "latest_quarantined_date": newest_quarantined})
            latest = f"{latest} (**{note}**)"
        lines.append(f"| {sym} | {latest} | {money(close, CELL)} | {signed_pct(d1, CELL)} "
                     f"| {signed_pct(ytd, CELL)} | {below_txt} | {when(rec_date, CELL)} |")
    banner = SNAPSHOT_BANNER if any(r[-1] for r in rows) else ""
    return banner + "\n".join(lines)


def divergence_chart(con: duckdb.DuckDBPyConnection, pair_id: str, out: Path) -> Path | None:
    """PNG of both drawdowns of the pair (close basis) with divergent days shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = con.execute("""
        SELECT date, leader, laggard, leader_drawdown_close, laggard_drawdown_high,
               is_divergent
        FROM marts.fct_divergence_daily WHERE pair_id = ? ORDER BY date""", [pair_id]).df()
    if frame.empty:
        return None
    synthetic = con.execute("SELECT bool_or(is_synthetic) FROM marts.mart_market_snapshot"
                            ).fetchone()[0]
    leader, laggard = frame.leader.iat[0], frame.laggard.iat[0]
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=100)
    ax.plot(frame.date, frame.leader_drawdown_close * 100, lw=1.1,
            label=f"{leader}: below record close")
    ax.plot(frame.date, frame.laggard_drawdown_high * 100, lw=1.1,
            label=f"{laggard}: below record high")
    divergent = frame.date[frame.is_divergent]
    low = min(frame.leader_drawdown_close.min(), frame.laggard_drawdown_high.min()) * 100
    ax.vlines(divergent, low, 0, color="crimson", alpha=0.45, lw=1.6,
              label=f"divergent day ({len(divergent)})")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("% below peak")
    title = f"{leader} vs {laggard}: drawdowns, divergent days shaded"
    ax.set_title(("SYNTHETIC DEMO DATA -- " if synthetic else "") + title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def png_markdown(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![{alt}](data:image/png;base64,{data})"


def enrich(warehouse: Path, keys: list[dg.AssetKey], chart_dir: Path, default_pair: str,
           date_columns: dict[str, str | None]) -> dict[dg.AssetKey, dict]:
    """Metadata per mart asset key, read after dbt finished (`date_columns`: each model's
    declared date column)."""
    from orchestration.lib.warehouse import connect

    out: dict[dg.AssetKey, dict] = {}
    with connect(warehouse, read_only=True) as con:
        for key in keys:
            schema, table = key.path[0], key.path[-1]
            if schema not in ("marts", "intermediate"):
                continue
            meta = table_facts(con, schema, table, date_columns.get(table))
            if table == "mart_market_snapshot" and meta:
                meta["snapshot"] = dg.MetadataValue.md(snapshot_markdown(con))
            if table == "mart_daily_brief" and meta:
                from orchestration.brief import BriefError, format_brief, read_rows

                try:
                    day, rows = read_rows(con)
                except BriefError:
                    pass
                else:
                    meta["brief_date"] = day.isoformat()
                    meta["brief"] = dg.MetadataValue.md(format_brief(day, rows))
            if table == "fct_divergence_daily" and meta:
                path = divergence_chart(con, default_pair, chart_dir / "divergence.png")
                if path is not None:
                    meta["chart"] = dg.MetadataValue.md(png_markdown(path, default_pair))
                    meta["chart_file"] = dg.MetadataValue.path(str(path))
            if meta:
                out[key] = meta
    return out
