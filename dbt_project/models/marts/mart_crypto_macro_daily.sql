-- One row per calendar day: the macro pair (var macro_pair, default ^RUT and BTC-USD) with
-- their closes, drawdowns and divergence state, next to net liquidity as known that day
-- and the policy rate. The table a dashboard plots.
--   The laggard (Bitcoin) trades every day; the leader's columns carry its last close on
--   or before the day (leader_close_date says which), so weekends show Friday's close.
--   Divergence columns come from fct_divergence_daily for the pair. Unknown is not false:
--   leader_at_record and is_divergent are null on days the leader has no bar (weekends,
--   holidays) or, for is_divergent, the laggard has none; in_divergence_episode is true
--   inside an episode, false outside one, null on days without a laggard close.
--   Net liquidity: int_net_liquidity_daily, never from the future.
{%- set pair = var('macro_pair') %}
with laggard as (
    select * from {{ ref('int_running_peaks') }} where symbol = '{{ pair.laggard }}'
),

leader as (
    select * from {{ ref('int_running_peaks') }} where symbol = '{{ pair.leader }}'
),

bounds as (
    select
        greatest((select min(date) from laggard), (select min(date) from leader)) as first_date,
        greatest((select max(date) from laggard), (select max(date) from leader)) as last_date
),

days as (
    select {{ day_spine('first_date', 'last_date') }} as date
    from bounds
),

-- the leader's last trading date on or before each day
leader_dates as (
    {{ latest_on_or_before('days', 'leader', 'date', 'leader_close_date') }}
),

with_leader as (
    select
        d.date,
        l.date           as leader_close_date,
        l.close          as leader_close,
        l.drawdown_close as leader_drawdown_close,
        l.drawdown_high  as leader_drawdown_high,
        case when l.date = d.date then l.is_record_close end as leader_at_record,
        l.source         as leader_source
    from leader_dates as d
    left join leader as l on l.date = d.leader_close_date
),

divergence as (
    select date, is_divergent, return_corr_90
    from {{ ref('fct_divergence_daily') }}
    where leader = '{{ pair.leader }}' and laggard = '{{ pair.laggard }}'
),

episodes as (
    select episode_number, start_date, end_date
    from {{ ref('fct_divergence_episodes') }}
    where leader = '{{ pair.leader }}' and laggard = '{{ pair.laggard }}'
)

select
    w.date,
    '{{ pair.leader }}'                                   as leader,
    '{{ pair.laggard }}'                                  as laggard,
    g.close                                               as laggard_close,
    g.drawdown_close                                      as laggard_drawdown_close,
    g.drawdown_high                                       as laggard_drawdown_high,
    w.leader_close_date,
    w.leader_close,
    w.leader_drawdown_close,
    w.leader_drawdown_high,
    w.leader_at_record,
    v.is_divergent,
    case
        when e.episode_number is not null then true
        when g.close is not null then false
    end                                                   as in_divergence_episode,
    e.episode_number                                      as divergence_episode_number,
    v.return_corr_90,
    n.net_liquidity,
    n.net_liquidity_change_4w,
    n.net_liquidity_week_ending,
    r.target_lower,
    r.target_upper,
    r.effr,
    coalesce(g.source = 'demo' or w.leader_source = 'demo', false) as is_synthetic
from with_leader as w
left join laggard as g on g.date = w.date
left join divergence as v on v.date = w.date
left join episodes as e on w.date between e.start_date and e.end_date
left join {{ ref('int_net_liquidity_daily') }} as n on n.date = w.date
left join {{ ref('int_rates_daily') }} as r on r.date = w.date
