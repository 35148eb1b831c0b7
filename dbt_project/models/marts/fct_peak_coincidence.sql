-- When do the pair's peaks and bottoms line up? Two kinds of rows (event_type):
--
-- 'record_cluster': the leader's records on one basis (close or high), grouped into
--   clusters and matched with the laggard's nearest record, as int_record_clusters defines
--   them: records at most var('record_cluster_max_gap_sessions') leader sessions apart form
--   a cluster (the first stored day, a record by definition, is left out); the laggard's
--   nearest record on either basis within var('coincidence_window_days') calendar days of
--   the cluster matches it. The laggard's first stored day is not one of its records.
--
-- 'joint_bottom': the trough of each leader drawdown episode (close basis) at least
--   var('joint_bottom_min_leader_drawdown') deep, matched with the laggard's lowest intraday
--   low within the same window around the trough date (int_joint_bottoms: the episode's last
--   candidate bottom). They coincide when that low lies strictly inside the window.
--
-- Unknown is not false: `coincides` is null when the laggard's stored history does not
-- cover the whole window and no match was found in the part it covers.
-- known_from: the first day the row's answer could be known from the data up to that day.
with clusters as (
    select * from {{ ref('int_record_clusters') }}
    where basis in ('close', 'high')
),

bottoms as (
    select * from {{ ref('int_joint_bottoms') }}
    where is_episode_trough
)

select
    pair_id,
    leader,
    laggard,
    'record_cluster'                                            as event_type,
    basis                                                       as leader_basis,
    start_date                                                  as leader_start_date,
    end_date                                                    as leader_end_date,
    end_date                                                    as leader_event_date,
    top_value                                                   as leader_event_value,
    n_records                                                   as leader_n_records,
    cast(null as double)                                        as leader_max_drawdown,
    match_date                                                  as laggard_event_date,
    match_value                                                 as laggard_event_value,
    'record_' || replace(match_bases, '+', '+record_')          as laggard_event,
    {{ days_between('end_date', 'match_date') }}                as days_from_leader_event,
    coincides,
    known_from,
    window_days
from clusters

union all

select
    b.pair_id,
    b.leader,
    b.laggard,
    'joint_bottom'                                              as event_type,
    'close'                                                     as leader_basis,
    b.peak_date                                                 as leader_start_date,
    e.recovery_date                                             as leader_end_date,
    b.trough_date                                               as leader_event_date,
    b.trough_close                                              as leader_event_value,
    cast(null as integer)                                       as leader_n_records,
    b.trough_drawdown                                           as leader_max_drawdown,
    b.laggard_low_date                                          as laggard_event_date,
    b.laggard_low                                               as laggard_event_value,
    case when b.laggard_low_date is not null then 'lowest_low' end as laggard_event,
    b.days_from_trough                                          as days_from_leader_event,
    b.coincides,
    case when b.coincides is not null then b.confirmed_date end as known_from,
    b.window_days
from bottoms as b
inner join {{ ref('fct_drawdown_episodes') }} as e
    on e.symbol = b.leader and e.peak_date = b.peak_date
