-- Divergent days grouped into episodes: a divergent day at most
-- var('divergence_episode_max_gap_sessions') leader sessions after the previous divergent
-- day continues its episode; a longer pause starts a new one. The time since the previous
-- episode ended is the figure behind "the first split in five years".
{%- set max_gap = var('divergence_episode_max_gap_sessions') %}
with divergent as (
    select
        d.pair_id,
        d.leader,
        d.laggard,
        d.date,
        d.leader_close,
        d.laggard_drawdown_close,
        d.laggard_drawdown_high,
        d.leader_session_number as session_number
    from {{ ref('fct_divergence_daily') }} as d
    where d.is_divergent
),

gaps as (
    select
        *,
        session_number - lag(session_number) over by_pair as gap_sessions
    from divergent
    window by_pair as (partition by pair_id order by date)
),

numbered as (
    select
        *,
        {{ running_count('gap_sessions is null or gap_sessions > ' ~ max_gap, 'pair_id', 'date') }}
            as episode_number
    from gaps
),

episodes as (
    select
        pair_id,
        leader,
        laggard,
        episode_number,
        min(date)                                         as start_date,
        max(date)                                         as end_date,
        min(session_number)                               as start_session,
        max(session_number)                               as end_session,
        cast(count(*) as integer)                         as divergent_days,
        coalesce(max(gap_sessions) filter (where gap_sessions <= {{ max_gap }}), 0)
                                                          as max_gap_sessions,
        max_by(leader_close, date)                       as leader_close_at_end,
        min(laggard_drawdown_close)                       as laggard_worst_drawdown_close,
        min(laggard_drawdown_high)                        as laggard_worst_drawdown_high
    from numbered
    group by pair_id, leader, laggard, episode_number
)

select
    pair_id,
    leader,
    laggard,
    episode_number,
    start_date,
    end_date,
    divergent_days,
    max_gap_sessions,
    end_session - start_session + 1                                as length_sessions,
    {{ day_count('start_date', 'end_date') }} + 1                  as length_days,
    leader_close_at_end,
    laggard_worst_drawdown_close,
    laggard_worst_drawdown_high,
    lag(end_date) over by_pair                                     as previous_episode_end_date,
    {{ day_count('lag(end_date) over by_pair', 'start_date') }}    as days_since_previous_episode,
    start_session - lag(end_session) over by_pair                  as sessions_since_previous_episode,
    episode_number = max(episode_number) over (partition by pair_id) as is_latest
from episodes
window by_pair as (partition by pair_id order by episode_number)
