{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy="delete+insert",
    unique_key=["symbol", "date"],
    on_schema_change="fail",
    post_hook=[
        "{{ forget_dropped_symbols() }}",
        "{{ record_rewritten_rows() }}",
    ],
) }}
-- Running peaks and drawdowns per symbol, on both bases. The window logic every mart uses.
--   A record day on a basis: the day's value is >= every earlier value (the first stored
--   day is one; a day that exactly ties the record is one too, so the drawdown is 0
--   exactly on record days). Since the running peak includes the day itself, a record day
--   is exactly a day whose value equals its running peak.
--   The peak date is the most recent record day (a tie renews it).
--   drawdown_close = close / running max close - 1
--   drawdown_high  = close / running max high_value - 1   (the close against the record
--                    intraday high: "27 % below the peak")
--
-- Incremental (docs/incremental.md): a build recomputes, per symbol, only the rows
-- from the first date whose input differs from what the last build stored (a new day, a
-- revised bar, a backfilled earlier date, a new symbol, a shifted session count), carrying
-- the running peaks, peak dates and peak sessions and the previous close from the stored row
-- before it. Rows before that date are unchanged by construction: every value of a row
-- depends only on the symbol's rows up to it. A symbol dropped from the catalog is deleted
-- (the post-hook). A full build (first run, `LOCKSTEP_FULL_REFRESH=1`, a changed model or
-- var) computes every row with the same SQL and nothing carried.
--   When the build is told the first date whose inputs changed (LOCKSTEP_INPUTS_CHANGED_FROM,
--   from raw's arrival times and a digest of the reference tables), it reads only the input
--   rows from that date on, to compare and to recompute: no input row before it changed, and
--   a row's value depends only on the rows up to it. Without it, every input row is compared.
{%- set from_date = inputs_changed_from() %}
with source as (
    select * from {{ ref('int_market_daily') }}
    {%- if from_date %}
    -- what is compared and recomputed starts on or after it (changed.from_date below)
    where date >= cast('{{ from_date }}' as date)
    {%- endif %}
),

{% if is_incremental() %}
stored as (
    select symbol, date, calendar, session_number, is_session, open, high, low, close,
           adj_close, volume, source
    from {{ this }}
    {%- if from_date %}
    where date >= cast('{{ from_date }}' as date)
    {%- endif %}
),

-- per symbol, the first date whose input row is new, gone or different
changed as (
    select
        coalesce(s.symbol, t.symbol)    as symbol,
        min(coalesce(s.date, t.date))   as from_date
    from source as s
    full outer join stored as t
        on s.symbol = t.symbol and s.date = t.date
    where s.symbol is null
       or t.symbol is null
       or s.close is distinct from t.close
       or s.high is distinct from t.high
       or s.low is distinct from t.low
       or s.open is distinct from t.open
       or s.adj_close is distinct from t.adj_close
       or s.volume is distinct from t.volume
       or s.source is distinct from t.source
       or s.calendar is distinct from t.calendar
       or s.session_number is distinct from t.session_number
       or s.is_session is distinct from t.is_session
    group by 1
),

-- the state the rows from from_date on continue: the stored row just before it
last_kept as (
    select t.symbol, max(t.date) as date
    from {{ this }} as t
    inner join changed as c
        on t.symbol = c.symbol and t.date < c.from_date
    group by t.symbol
),

carried as (
    select
        t.symbol,
        t.close              as carried_close,
        t.peak_close         as carried_peak_close,
        t.peak_high          as carried_peak_high,
        t.peak_close_date    as carried_peak_close_date,
        t.peak_close_session as carried_peak_close_session,
        t.peak_high_date     as carried_peak_high_date,
        t.peak_high_session  as carried_peak_high_session
    from {{ this }} as t
    inner join last_kept as k
        on t.symbol = k.symbol and t.date = k.date
),

batch as (
    select
        s.*,
        k.carried_close,
        k.carried_peak_close,
        k.carried_peak_high,
        k.carried_peak_close_date,
        k.carried_peak_close_session,
        k.carried_peak_high_date,
        k.carried_peak_high_session
    from source as s
    inner join changed as c
        on s.symbol = c.symbol and s.date >= c.from_date
    left join carried as k
        on k.symbol = s.symbol
),
{% else %}
batch as (
    select
        *,
        cast(null as double)  as carried_close,
        cast(null as double)  as carried_peak_close,
        cast(null as double)  as carried_peak_high,
        cast(null as date)    as carried_peak_close_date,
        cast(null as integer) as carried_peak_close_session,
        cast(null as date)    as carried_peak_high_date,
        cast(null as integer) as carried_peak_high_session
    from source
),
{% endif %}

running as (
    select
        *,
        max(close) over upto                                 as batch_peak_close,
        max(high_value) over upto                            as batch_peak_high,
        lag(close) over (partition by symbol order by date)  as batch_previous_close
    from batch
    window upto as (
        partition by symbol order by date rows between unbounded preceding and current row
    )
),

peaks as (
    select
        *,
        case when carried_peak_close > batch_peak_close then carried_peak_close
             else batch_peak_close end                        as peak_close,
        case when carried_peak_high > batch_peak_high then carried_peak_high
             else batch_peak_high end                         as peak_high,
        coalesce(batch_previous_close, carried_close)         as previous_close
    from running
),

flagged as (
    select
        *,
        close = peak_close      as is_record_close,
        high_value = peak_high  as is_record_high
    from peaks
)

select
    symbol,
    date,
    calendar,
    session_number,
    is_session,
    open,
    high,
    low,
    close,
    adj_close,
    volume,
    high_value,
    low_value,
    previous_close,
    peak_close,
    peak_high,
    is_record_close,
    is_record_high,
    coalesce(max(case when is_record_close then date end) over upto,
             carried_peak_close_date)                                as peak_close_date,
    coalesce(max(case when is_record_close then session_number end) over upto,
             carried_peak_close_session)                             as peak_close_session,
    coalesce(max(case when is_record_high then date end) over upto,
             carried_peak_high_date)                                 as peak_high_date,
    coalesce(max(case when is_record_high then session_number end) over upto,
             carried_peak_high_session)                              as peak_high_session,
    close / peak_close - 1                                           as drawdown_close,
    close / peak_high - 1                                            as drawdown_high,
    source
from flagged
window upto as (
    partition by symbol order by date rows between unbounded preceding and current row
)
