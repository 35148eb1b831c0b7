-- Net liquidity for every calendar day, as it was known that day: the latest H.4.1 week
-- whose figures were published on or before the day (available_from <= date). A week's
-- value is never used before it was published. fct_fed_balance_sheet_weekly serves only
-- complete weeks at its end, so a partly published week never replaces the last complete
-- one. The days run to the newest stored market or FRED date: when no newer week has
-- arrived, the last one stays what was known (net_liquidity_week_ending shows its age).
with weekly as (
    select * from {{ ref('fct_fed_balance_sheet_weekly') }}
    where net_liquidity is not null
),

last_day as (
    select greatest(
        (select max(available_from) + 6 from weekly),
        (select max(date) from {{ ref('stg_market_prices') }}),
        (select max(date) from {{ ref('stg_fred_observations') }})
    ) as date
),

days as (
    select {{ day_spine('min(w.available_from)', 'max(l.date)') }} as date
    from weekly as w
    cross join last_day as l
),

-- the latest week published on or before each day (available_from is unique: the unique
-- week_ending plus a fixed lag)
carried as (
    {{ latest_on_or_before('days', 'weekly', 'available_from', 'available_from') }}
)

select
    d.date,
    w.week_ending                  as net_liquidity_week_ending,
    w.available_from               as net_liquidity_available_from,
    w.net_liquidity,
    w.net_liquidity_change_1w,
    w.net_liquidity_change_4w,
    w.total_assets,
    w.tga,
    w.reverse_repo,
    w.treasuries,
    w.treasuries_change_1w
from carried as d
left join weekly as w on w.available_from = d.available_from
