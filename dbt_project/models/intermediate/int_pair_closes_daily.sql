-- The pairs' instruments (var divergence_pairs) on every calendar day from each one's first
-- stored date to its last: the last stored close on or before the day (close_as_of) and
-- the date it was stored (close_date). "The close as of a day" in every forward return
-- (fct_pair_forward_outcomes, the same rule as mart_divergence_outcomes) and in the weekly
-- returns (int_pair_weekly_returns) is this close. Days after the last stored date have no
-- row: a window that ends there is not known yet.
-- The last stored date on or before a day is a running max of the stored dates (standard
-- SQL on every engine; no IGNORE NULLS).
with prices as (
    select symbol, date, calendar, close
    from {{ ref('int_running_peaks') }}
    where symbol in ({{ divergence_pair_symbols() }})
),

bounds as (
    select symbol, max(calendar) as calendar, min(date) as first_date, max(date) as last_date
    from prices
    group by symbol
),

days as (
    select
        b.symbol,
        c.date,
        max(p.date) over (
            partition by b.symbol order by c.date
            rows between unbounded preceding and current row
        ) as close_date
    from bounds as b
    inner join {{ ref('int_calendar_days') }} as c
        on c.calendar = b.calendar and c.date between b.first_date and b.last_date
    left join prices as p on p.symbol = b.symbol and p.date = c.date
)

select
    d.symbol,
    d.date,
    d.close_date,
    p.close as close_as_of
from days as d
inner join prices as p on p.symbol = d.symbol and p.date = d.close_date
