-- The brief's divergence history: on a divergent day (brief_date), per horizon, what
-- happened after the pair's earlier episodes whose N-day window had passed by then (never
-- the current one): how often the laggard beat the leader, the median returns, how often the
-- laggard set a record within the horizon, each with its n. Grain: (brief_date, pair_id,
-- horizon_days).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
{%- set horizons = var('outcome_horizons_days') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
{%- set min_n = var('outcome_min_episodes') %}
{#- what an episode's rows carry through to the count: the day, the pair and its names #}
{%- set pair_columns = 'brief_date, pair_id, leader, laggard, leader_name, laggard_name, pair_name' %}
with history_inputs as (
    select
        s.brief_date,
        s.pair_id,
        s.leader,
        s.laggard,
        s.leader_name,
        s.laggard_name,
        s.pair_name,
        s.episode_start_date,
        o.end_date,
        o.laggard_last_date,
        {%- for n in horizons %}
        o.laggard_return_{{ n }}d,
        o.leader_return_{{ n }}d,
        {%- endfor %}
        o.laggard_days_to_record_{{ laggard_basis }}
    from {{ ref('int_brief_divergence') }} as s
    inner join {{ ref('mart_divergence_outcomes') }} as o
        on o.pair_id = s.pair_id and o.end_date < s.episode_start_date
    where s.is_divergent
        {{ from_the_changed_date('s.brief_date', 'and') }}
),

history_by_horizon as (
    {%- for n in horizons %}
    select
        {{ pair_columns }},
        {{ n }} as horizon_days,
        case when {{ add_days('end_date', n) }} <= brief_date then laggard_return_{{ n }}d end
            as laggard_return,
        case when {{ add_days('end_date', n) }} <= brief_date then leader_return_{{ n }}d end
            as leader_return,
        case
            when laggard_days_to_record_{{ laggard_basis }} <= {{ n }}
                and {{ add_days('end_date', 'laggard_days_to_record_' ~ laggard_basis) }} <= brief_date
                then 1
            when {{ add_days('end_date', n) }} <= least(brief_date, laggard_last_date) then 0
        end as set_record
    from history_inputs
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

history_counted as (
    select
        {{ pair_columns }},
        horizon_days,
        count(*)                                                           as n_episodes,
        sum(case when laggard_return is not null and leader_return is not null
                 then 1 else 0 end)                                        as n_known,
        sum(case when laggard_return > leader_return then 1 else 0 end)    as n_laggard_beat,
        percentile_cont(0.5) within group (order by case
            when leader_return is not null then laggard_return end)        as median_laggard_return,
        percentile_cont(0.5) within group (order by case
            when laggard_return is not null then leader_return end)        as median_leader_return,
        count(set_record)                                                  as n_record_known,
        sum(coalesce(set_record, 0))                                       as n_laggard_record
    from history_by_horizon
    group by {{ pair_columns }}, horizon_days
)

select
    brief_date,
    pair_id,
    leader,
    laggard,
    horizon_days,
    leader_name,
    laggard_name,
    pair_name,
    cast(n_episodes as integer)                                        as n_episodes,
    cast(n_known as integer)                                           as n_known,
    cast(n_laggard_beat as integer)                                    as n_laggard_beat,
    case when n_known > 0 then cast(n_laggard_beat as double) / n_known end
                                                                       as share_laggard_beat,
    median_laggard_return,
    median_leader_return,
    '{{ laggard_basis }}'                                              as record_basis,
    cast(n_record_known as integer)                                    as n_record_known,
    cast(n_laggard_record as integer)                                  as n_laggard_record,
    case when n_record_known > 0 then cast(n_laggard_record as double) / n_record_known end
                                                                       as share_laggard_record,
    n_known < {{ min_n }}                                              as is_anecdotal,
    {{ min_n }}                                                        as min_episodes_for_pattern
from history_counted
