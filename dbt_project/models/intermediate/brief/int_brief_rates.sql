-- The brief's rates: on every day both rates have been published (brief_date), the 2-year
-- Treasury yield minus EFFR, a proxy of priced moves (not a probability), each rate as of
-- its latest publication (dgs2_as_of, effr_as_of); when either is older than
-- var('rates_max_staleness_days') the spread is unknown (is_stale) and the row names the
-- series with its last date instead of vanishing. Grain: (brief_date).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with fred_source as (
    select max(source) as source from {{ ref('stg_fred_observations') }}
),

brief_dates as (
    {{ brief_dates() }}
)

select
    r.date                                                  as brief_date,
    least(r.dgs2_as_of, r.effr_as_of)                       as as_of_date,
    {{ days_between('least(r.dgs2_as_of, r.effr_as_of)', 'r.date') }} as days_since_as_of,
    r.spread_2y_effr is null                                as is_stale,
    r.dgs2,
    r.effr,
    r.spread_2y_effr,
    r.dgs2_as_of,
    r.effr_as_of,
    f.source,
    f.source = 'demo'                                       as is_synthetic
from {{ ref('int_rates_daily') }} as r
inner join brief_dates as d on d.brief_date = r.date
cross join fred_source as f
where r.dgs2_as_of is not null and r.effr_as_of is not null
