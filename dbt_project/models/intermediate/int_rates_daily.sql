-- Policy and market rates for every calendar day, in percent: the target range, EFFR,
-- SOFR, IORB and the 2-year Treasury yield, each as known at the end of the day: an
-- observation counts from the day it was published (var('fred_publication_lags'): EFFR and
-- SOFR the next day the Federal Reserve is open, int_fed_board_closures; DGS2, the target
-- range and IORB their own day), and is carried forward over days nothing newer was
-- published for at most var('rates_max_staleness_days') days after its date (null beyond: a
-- stale rate is missing, not current). The days run to the newest stored market or FRED
-- date, so the newest days carry the last published rates (within the staleness limit)
-- instead of stopping where the series stop. <rate>_as_of is the date of the observation
-- used (the brief says it when it is not the day described, and names a series that
-- stopped); it is never after the day, and for EFFR and SOFR always before it.
-- spread_2y_effr = dgs2 - effr is a rough proxy of the cuts (negative) or hikes (positive)
-- markets price over the next two years: the 2-year yield also carries a term premium, so
-- it is a proxy, not a probability like CME FedWatch.
{%- set stale = var('rates_max_staleness_days') %}
{%- set lags = var('fred_publication_lags') %}
{%- set series = {'DFEDTARL': 'target_lower', 'DFEDTARU': 'target_upper', 'EFFR': 'effr',
                  'SOFR': 'sofr', 'IORB': 'iorb', 'DGS2': 'dgs2'} %}
with observed as (
    select
        series_id,
        date,
        value,
        case series_id
            {%- for s in series %}
            when '{{ s }}' then {{ lags[s]['business_days_after'] }}
            {%- endfor %}
        end as business_days_after
    from {{ ref('stg_fred_observations') }}
    where series_id in ({% for s in series %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
),

offsets as (
    select {{ integer_series(1, 14) }} as k
),

-- the days the Federal Reserve is open after each observation, numbered 1, 2, ...
open_days_after as (
    select
        o.series_id,
        o.date,
        {{ add_days('o.date', 'k.k') }} as open_day,
        row_number() over (partition by o.series_id, o.date order by k.k) as n
    from observed as o
    cross join offsets as k
    where o.business_days_after > 0
      and {{ day_of_week(add_days('o.date', 'k.k')) }} between 1 and 5
      and {{ add_days('o.date', 'k.k') }} not in (
          select closure_date from {{ ref('int_fed_board_closures') }}
      )
),

obs as (
    select
        o.series_id,
        o.date,
        o.value,
        coalesce(a.open_day, o.date) as known_from
    from observed as o
    left join open_days_after as a
        on a.series_id = o.series_id and a.date = o.date and a.n = o.business_days_after
),

days as (
    select {{ day_spine('min(date)', 'greatest(max(known_from), (select max(date) from '
                        ~ ref('stg_market_prices') ~ '))') }} as date
    from obs
),

wide as (
    select
        d.date,
        {%- for s, name in series.items() %}
        -- the newest observation published that day (after a holiday two can be)
        max_by(o.value, o.date) filter (where o.series_id = '{{ s }}') as {{ name }}_published,
        max(o.date) filter (where o.series_id = '{{ s }}')              as {{ name }}_date
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from days as d
    left join obs as o on o.known_from = d.date
    group by d.date
),

carried as (
    select
        date,
        {%- for name in series.values() %}
        {{ last_non_null(name ~ '_published') }} over upto as {{ name }}_value,
        {{ last_non_null(name ~ '_date') }} over upto      as {{ name }}_as_of
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from wide
    window upto as (order by date rows between unbounded preceding and current row)
)

select
    date,
    {%- for name in series.values() %}
    case when {{ day_count(name ~ '_as_of', 'date') }} <= {{ stale }} then {{ name }}_value end as {{ name }},
    {%- endfor %}
    case when {{ day_count('effr_as_of', 'date') }} <= {{ stale }}
        and {{ day_count('dgs2_as_of', 'date') }} <= {{ stale }}
        then dgs2_value - effr_value end                                     as spread_2y_effr,
    -- the date of the newest observation of each rate published by the end of `date` (also
    -- beyond the staleness limit: a series that stopped is named with its last date)
    {%- for name in series.values() %}
    {{ name }}_as_of{% if not loop.last %},{% endif %}
    {%- endfor %}
from carried
