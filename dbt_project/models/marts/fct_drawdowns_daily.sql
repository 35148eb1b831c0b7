{{ config(
    materialized=("table" if target.type == "spark" else "view"),
    post_hook="{{ record_rewritten_rows_of_view('int_running_peaks') }}",
) }}
-- a view on DuckDB; a table on Spark, whose files the publish step reads (docs/spark.md)
-- Per symbol and trading date: running peaks and drawdowns on both bases. Its rows are
-- int_running_peaks', row for row, so a daily build records that it rewrote them from the
-- date int_running_peaks did (ops.mart_rewrites), and publishing hashes only those.
select
    symbol,
    date,
    close,
    high_value,
    peak_close,
    peak_close_date,
    drawdown_close,
    {{ day_count('peak_close_date', 'date') }}   as days_since_peak_close,
    session_number - peak_close_session          as sessions_since_peak_close,
    is_record_close,
    peak_high,
    peak_high_date,
    drawdown_high,
    {{ day_count('peak_high_date', 'date') }}    as days_since_peak_high,
    session_number - peak_high_session           as sessions_since_peak_high,
    is_record_high,
    source
from {{ ref('int_running_peaks') }}
