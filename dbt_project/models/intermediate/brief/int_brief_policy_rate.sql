-- The brief's policy rate: on every day from the first target-range move on (brief_date),
-- the move in force, with its FOMC announcement day (seed) and its effective day (FRED),
-- as of FRED's latest target observation on or before the day (as_of_date): stale, and so
-- named with its last date, beyond var('rates_max_staleness_days'). Grain: (brief_date).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
{%- set rate_stale = var('rates_max_staleness_days') %}
{%- set as_of = 'coalesce(least(r.target_lower_as_of, r.target_upper_as_of), c.effective_date)' %}
with rate_changes as (
    select
        *,
        lead(effective_date) over (order by effective_date) as next_effective_date
    from {{ ref('fct_policy_rate_changes') }}
),

fred_source as (
    select max(source) as source from {{ ref('stg_fred_observations') }}
),

brief_dates as (
    {{ brief_dates() }}
)

select
    d.brief_date,
    {{ as_of }}                                             as as_of_date,
    {{ days_between(as_of, 'd.brief_date') }}               as days_since_as_of,
    {{ days_between(as_of, 'd.brief_date') }} > {{ rate_stale }} as is_stale,
    c.effective_date,
    c.announcement_date,
    c.change_bp,
    c.direction,
    c.number_in_year,
    c.old_lower,
    c.old_upper,
    c.new_lower,
    c.new_upper,
    f.source,
    f.source = 'demo'                                       as is_synthetic
from rate_changes as c
inner join brief_dates as d
    on d.brief_date >= c.effective_date
    and (c.next_effective_date is null or d.brief_date < c.next_effective_date)
left join {{ ref('int_rates_daily') }} as r on r.date = d.brief_date
cross join fred_source as f
