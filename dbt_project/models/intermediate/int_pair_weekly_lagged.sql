-- Every pair of weekly returns the cross-correlations use: the leader's return of week t with
-- the laggard's return of week t + lag_weeks, for lag_weeks = -N..+N
-- (var lead_lag_max_lag_weeks). Positive lag: the laggard's return comes lag_weeks weeks
-- AFTER the leader's (the laggard moves after the leader); negative: before. later_week_number
-- is the later of the two weeks, which the rolling windows (mart_lead_lag_rolling) order by.
{%- set max_lag = var('lead_lag_max_lag_weeks') %}
with weekly as (
    select * from {{ ref('int_pair_weekly_returns') }}
),

lags as (
    {%- for k in range(-max_lag, max_lag + 1) %}
    select cast({{ k }} as integer) as lag_weeks
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    l.pair_id,
    l.leader,
    l.laggard,
    k.lag_weeks,
    l.week_ending                                                 as leader_week_ending,
    g.week_ending                                                 as laggard_week_ending,
    case when k.lag_weeks > 0 then g.week_number else l.week_number end as later_week_number,
    case when k.lag_weeks > 0 then g.week_ending else l.week_ending end as later_week_ending,
    l.leader_log_return,
    g.laggard_log_return
from weekly as l
cross join lags as k
inner join weekly as g
    on g.pair_id = l.pair_id and g.week_number = l.week_number + k.lag_weeks
