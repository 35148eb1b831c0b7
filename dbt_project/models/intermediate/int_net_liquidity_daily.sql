-- Net liquidity for every calendar day, as it was known that day: the latest H.4.1 week
-- whose figures were published on or before the day (available_from <= date). A week's
-- value is never used before it was published. The last week stays current until its
-- successor is due (six days after it became available).
with weekly as (
    select * from {{ ref('fct_fed_balance_sheet_weekly') }}
    where net_liquidity is not null
),

days as (
    select cast(unnest(generate_series(
        cast(min(available_from) as timestamp), cast(max(available_from) + 6 as timestamp),
        interval 1 day
    )) as date) as date
    from weekly
)

select
    d.date,
    w.week_ending                  as net_liquidity_week_ending,
    w.net_liquidity,
    w.net_liquidity_change_1w,
    w.net_liquidity_change_4w
from days as d
asof left join weekly as w on d.date >= w.available_from
