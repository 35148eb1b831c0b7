-- Policy and market rates for every calendar day, in percent: the target range, EFFR,
-- SOFR, IORB and the 2-year Treasury yield, each carried forward over days it is not
-- published for at most var('rates_max_staleness_days') days (null beyond: a stale rate is
-- missing, not current). The days run to the newest stored market or FRED date, so the
-- newest days carry the last published rates (within the staleness limit) instead of
-- stopping where the series stop. <rate>_as_of is the day each value was published (the
-- brief says it when it is not the day described, and names a series that stopped).
-- spread_2y_effr = dgs2 - effr is a rough proxy of the cuts (negative) or hikes (positive)
-- markets price over the next two years: the 2-year yield also carries a term premium, so
-- it is a proxy, not a probability like CME FedWatch.
{%- set stale = var('rates_max_staleness_days') %}
{%- set series = {'DFEDTARL': 'target_lower', 'DFEDTARU': 'target_upper', 'EFFR': 'effr',
                  'SOFR': 'sofr', 'IORB': 'iorb', 'DGS2': 'dgs2'} %}
with obs as (
    select series_id, date, value
    from {{ ref('stg_fred_observations') }}
    where series_id in ({% for s in series %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
),

days as (
    select {{ day_spine('min(date)', 'greatest(max(date), (select max(date) from '
                        ~ ref('stg_market_prices') ~ '))') }} as date
    from obs
),

wide as (
    select
        d.date,
        {%- for s, name in series.items() %}
        max(o.value) filter (where o.series_id = '{{ s }}') as {{ name }}_published,
        max(o.date) filter (where o.series_id = '{{ s }}')  as {{ name }}_date
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from days as d
    left join obs as o on o.date = d.date
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
    -- the day each rate was last published on or before `date` (also beyond the staleness
    -- limit: a series that stopped is named with its last date, not left out)
    {%- for name in series.values() %}
    {{ name }}_as_of{% if not loop.last %},{% endif %}
    {%- endfor %}
from carried
