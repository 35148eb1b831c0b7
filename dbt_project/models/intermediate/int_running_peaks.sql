-- Running peaks and drawdowns per symbol, on both bases. The window logic every mart uses.
--   A record day on a basis: the day's value is >= every earlier value (the first stored
--   day is one; a day that exactly ties the record is one too, so the drawdown is 0
--   exactly on record days). Since the running peak includes the day itself, a record day
--   is exactly a day whose value equals its running peak.
--   The peak date is the most recent record day (a tie renews it).
--   drawdown_close = close / running max close - 1
--   drawdown_high  = close / running max high_value - 1   (the close against the record
--                    intraday high: "27 % below the peak")
-- Written for speed on millions of rows: one sort per symbol, two passes of cumulative
-- aggregates, no self-joins.
with peaks as (
    select
        *,
        max(close) over upto                              as peak_close,
        max(high_value) over upto                         as peak_high,
        lag(close) over (partition by symbol order by date) as previous_close
    from {{ ref('int_market_daily') }}
    window upto as (
        partition by symbol order by date rows between unbounded preceding and current row
    )
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
    max(case when is_record_close then date end) over upto           as peak_close_date,
    max(case when is_record_close then session_number end) over upto as peak_close_session,
    max(case when is_record_high then date end) over upto            as peak_high_date,
    max(case when is_record_high then session_number end) over upto  as peak_high_session,
    close / peak_close - 1                                           as drawdown_close,
    close / peak_high - 1                                            as drawdown_high,
    source
from flagged
window upto as (
    partition by symbol order by date rows between unbounded preceding and current row
)
