-- When do the pair's peaks and bottoms line up? Two kinds of rows (event_type):
--
-- 'record_cluster': the leader's records on one basis, grouped into clusters: a record at
--   most var('record_cluster_max_gap_sessions') leader sessions after the previous record
--   of that basis joins its cluster (the first stored day, a record by definition, is left
--   out). Each cluster is matched with the laggard's nearest record, on either basis,
--   within var('coincidence_window_days') calendar days of the cluster (0 days when inside
--   it; among equally near ones, the one closest to the cluster's top record, then the
--   earlier). They coincide when there is one.
--
-- 'joint_bottom': the trough of each leader drawdown episode (close basis) at least
--   var('joint_bottom_min_leader_drawdown') deep, matched with the laggard's lowest intraday
--   low (least(low, close)) within the same window around the trough date (the earliest
--   on a tie). They coincide when that low lies strictly inside the window: a lowest low
--   on the window's edge means the laggard was still falling (or had bottomed earlier).
{%- set max_gap = var('record_cluster_max_gap_sessions') %}
{%- set window_days = var('coincidence_window_days') %}
{%- set min_dd = var('joint_bottom_min_leader_drawdown') %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

leader_records as (
    select p.pair_id, p.leader, p.laggard, r.basis, r.date, r.value, r.sessions_since_previous
    from pairs as p
    inner join {{ ref('fct_all_time_highs') }} as r on r.symbol = p.leader
    where not r.is_first_observation
),

clustered as (
    select
        *,
        {{ running_count('sessions_since_previous > ' ~ max_gap, 'pair_id, basis', 'date') }}
            as cluster_number
    from leader_records
),

clusters as (
    select
        pair_id,
        leader,
        laggard,
        basis,
        cluster_number,
        min(date)              as start_date,
        max(date)              as end_date,
        arg_max(value, date)   as top_value,
        cast(count(*) as integer) as n_records
    from clustered
    group by pair_id, leader, laggard, basis, cluster_number
),

laggard_records as (
    select
        symbol,
        date,
        string_agg(basis, '+' order by basis) as bases,
        max(value) filter (where basis = 'close') as record_close,
        max(value) filter (where basis = 'high') as record_high
    from {{ ref('fct_all_time_highs') }}
    where not is_first_observation
    group by symbol, date
),

cluster_matches as (
    select
        c.*,
        r.date  as laggard_date,
        r.bases as laggard_bases,
        coalesce(r.record_close, r.record_high) as laggard_value,
        case
            when r.date < c.start_date then c.start_date - r.date
            when r.date > c.end_date then r.date - c.end_date
            else 0
        end as distance_days
    from clusters as c
    left join laggard_records as r
        on r.symbol = c.laggard
        and r.date between c.start_date - {{ window_days }} and c.end_date + {{ window_days }}
    qualify row_number() over (
        partition by c.pair_id, c.basis, c.cluster_number
        order by distance_days nulls last, abs(r.date - c.end_date), r.date
    ) = 1
),

episodes as (
    select p.pair_id, p.leader, p.laggard, e.*
    from pairs as p
    inner join {{ ref('fct_drawdown_episodes') }} as e on e.symbol = p.leader
    where e.max_drawdown <= -{{ min_dd }}
),

bottom_matches as (
    select
        e.pair_id,
        e.leader,
        e.laggard,
        e.peak_date,
        e.trough_date,
        e.trough_value,
        e.max_drawdown,
        e.recovery_date,
        g.date      as laggard_date,
        g.low_value as laggard_value
    from episodes as e
    left join {{ ref('int_running_peaks') }} as g
        on g.symbol = e.laggard
        and g.date between e.trough_date - {{ window_days }} and e.trough_date + {{ window_days }}
    qualify row_number() over (
        partition by e.pair_id, e.peak_date order by g.low_value nulls last, g.date
    ) = 1
)

select
    pair_id,
    leader,
    laggard,
    'record_cluster'                              as event_type,
    basis                                         as leader_basis,
    start_date                                    as leader_start_date,
    end_date                                      as leader_end_date,
    end_date                                      as leader_event_date,
    top_value                                     as leader_event_value,
    n_records                                     as leader_n_records,
    cast(null as double)                          as leader_max_drawdown,
    laggard_date                                  as laggard_event_date,
    laggard_value                                 as laggard_event_value,
    'record_' || replace(laggard_bases, '+', '+record_') as laggard_event,
    laggard_date - end_date                       as days_from_leader_event,
    laggard_date is not null                      as coincides,
    {{ window_days }}                             as window_days
from cluster_matches

union all

select
    pair_id,
    leader,
    laggard,
    'joint_bottom'                                as event_type,
    'close'                                       as leader_basis,
    peak_date                                     as leader_start_date,
    recovery_date                                 as leader_end_date,
    trough_date                                   as leader_event_date,
    trough_value                                  as leader_event_value,
    cast(null as integer)                         as leader_n_records,
    max_drawdown                                  as leader_max_drawdown,
    laggard_date                                  as laggard_event_date,
    laggard_value                                 as laggard_event_value,
    case when laggard_date is not null then 'lowest_low' end as laggard_event,
    laggard_date - trough_date                    as days_from_leader_event,
    coalesce(abs(laggard_date - trough_date) < {{ window_days }}, false) as coincides,
    {{ window_days }}                             as window_days
from bottom_matches
