-- What happened after a pair's divergence episodes, per horizon (mart_divergence_outcomes),
-- with n everywhere: a handful of episodes is anecdote, not a pattern.
--   n_episodes           every episode of the pair
--   n_known              episodes whose N-day window is stored for both instruments
--   n_laggard_beat       of those, the laggard's return was higher than the leader's
--   share_laggard_beat   n_laggard_beat / n_known (null without a known outcome)
--   median_*_return      medians over the known outcomes
--   n_record_known       episodes where it is known whether the laggard set a new record on
--                        var('divergence_laggard_basis') within N days (it did, or the
--                        whole window is stored)
--   share_laggard_record n_laggard_record / n_record_known
--   is_anecdotal         n_known < var('outcome_min_episodes')
{%- set horizons = var('outcome_horizons_days') %}
{%- set record_basis = var('divergence_laggard_basis') %}
{%- set min_n = var('outcome_min_episodes') %}
with outcomes as (
    select * from {{ ref('mart_divergence_outcomes') }}
),

by_horizon as (
    {%- for n in horizons %}
    select
        pair_id,
        leader,
        laggard,
        {{ n }}                                           as horizon_days,
        laggard_return_{{ n }}d                           as laggard_return,
        leader_return_{{ n }}d                            as leader_return,
        laggard_days_to_record_{{ record_basis }}         as days_to_record,
        {{ add_days('end_date', n) }} <= laggard_last_date as laggard_window_stored
    from outcomes
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

counted as (
    select
        pair_id,
        leader,
        laggard,
        horizon_days,
        cast(count(*) as integer)                                      as n_episodes,
        -- the statistics mart_outcome_base_rates computes over every day too (one macro)
        {{ outcome_statistics() }}
    from by_horizon
    group by pair_id, leader, laggard, horizon_days
)

select
    pair_id,
    leader,
    laggard,
    horizon_days,
    n_episodes,
    n_known,
    n_episodes - n_known                                                as n_unknown,
    n_laggard_beat,
    case when n_known > 0 then cast(n_laggard_beat as double) / n_known end
                                                                        as share_laggard_beat,
    median_laggard_return,
    median_leader_return,
    '{{ record_basis }}'                                                as record_basis,
    n_record_known,
    n_laggard_record,
    case when n_record_known > 0 then cast(n_laggard_record as double) / n_record_known end
                                                                        as share_laggard_record,
    n_known < {{ min_n }}                                               as is_anecdotal,
    {{ min_n }}                                                         as min_episodes_for_pattern
from counted
