-- The brief's net liquidity: on every day with a known figure (brief_date), the latest
-- complete H.4.1 week published by then (int_net_liquidity_daily). is_stale: the week is
-- more than 13 days old, so a newer one is missing (each week is published within 12 days
-- of its Wednesday, even after a holiday: Monday 2025-12-29 for 2025-12-24).
-- Grain: (brief_date).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with fred_source as (
    select max(source) as source from {{ ref('stg_fred_observations') }}
),

brief_dates as (
    {{ brief_dates() }}
)

select
    n.date                                                  as brief_date,
    n.net_liquidity_week_ending                             as week_ending,
    {{ days_between('n.net_liquidity_week_ending', 'n.date') }} as days_since_week_ending,
    {{ days_between('n.net_liquidity_week_ending', 'n.date') }} > 13 as is_stale,
    n.net_liquidity_available_from                          as available_from,
    n.net_liquidity,
    n.net_liquidity_change_4w,
    n.treasuries_change_1w,
    f.source,
    f.source = 'demo'                                       as is_synthetic
from {{ ref('int_net_liquidity_daily') }} as n
inner join brief_dates as d on d.brief_date = n.date
cross join fred_source as f
where n.net_liquidity is not null
