-- Weekly log returns of each pair's two instruments, the input of the lead/lag marts. A week
-- ends on every calendar day a multiple of 7 days from var('lead_lag_week_anchor') (a
-- Friday); an instrument's weekly close is its last stored close on or before that day
-- (int_pair_closes_daily), its weekly log return ln(close this week / close a week
-- earlier). A pair's weeks run from the first week end both instruments have a close a week
-- before, to the last week end on or before both last stored dates; week_number counts them
-- (1, 2, ... with no gaps).
{%- set anchor = "cast('" ~ var('lead_lag_week_anchor') ~ "' as date)" %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

week_ends as (
    select symbol, date, close_date, close_as_of
    from {{ ref('int_pair_closes_daily') }}
    where {{ days_between(anchor, 'date') }} % 7 = 0
),

weekly as (
    select
        p.pair_id,
        p.leader,
        p.laggard,
        l.date                                        as week_ending,
        l.close_date                                  as leader_close_date,
        l.close_as_of                                 as leader_close,
        g.close_date                                  as laggard_close_date,
        g.close_as_of                                 as laggard_close,
        ln(l.close_as_of / lp.close_as_of)            as leader_log_return,
        ln(g.close_as_of / gp.close_as_of)            as laggard_log_return
    from pairs as p
    inner join week_ends as l on l.symbol = p.leader
    inner join week_ends as g on g.symbol = p.laggard and g.date = l.date
    inner join week_ends as lp on lp.symbol = p.leader and lp.date = {{ add_days('l.date', -7) }}
    inner join week_ends as gp on gp.symbol = p.laggard and gp.date = {{ add_days('l.date', -7) }}
)

select
    *,
    cast(row_number() over (partition by pair_id order by week_ending) as integer) as week_number
from weekly
