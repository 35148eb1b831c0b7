-- The brief's outcome comparison: on a divergent day (brief_date), per horizon, the pair's
-- earlier episodes' outcomes against how often the laggard beat the leader from any day,
-- any leader record day and any day the laggard was below the threshold, each from the
-- windows that had passed by then, with the exact binomial test and the verdict its rules
-- give (mart_outcome_significance_daily: the same episodes and outcomes as
-- int_brief_divergence_history); only when the pair had an earlier episode.
-- Grain: (brief_date, pair_id, horizon_days).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
{%- set threshold = var('divergence_laggard_min_drawdown') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
select
    s.brief_date,
    s.pair_id,
    s.leader,
    s.laggard,
    o.horizon_days,
    s.leader_name,
    s.laggard_name,
    s.pair_name,
    '{{ laggard_basis }}'                                   as laggard_basis,
    cast({{ threshold }} as double)                         as divergence_threshold,
    o.n_earlier_episodes,
    o.n_known,
    o.n_laggard_beat,
    o.share_laggard_beat,
    o.base_rate_share,
    o.base_rate_n_known,
    o.base_rate_first_start_date,
    o.base_rate_last_start_date,
    o.leader_record_share,
    o.leader_record_n_known,
    o.laggard_below_share,
    o.laggard_below_n_known,
    o.method                                                as test_method,
    o.p_value,
    o.verdict,
    o.is_anecdotal,
    o.min_episodes_for_pattern
from {{ ref('int_brief_divergence') }} as s
inner join {{ ref('mart_outcome_significance_daily') }} as o
    on o.pair_id = s.pair_id and o.date = s.brief_date
where s.is_divergent and o.n_earlier_episodes > 0
    {{ from_the_changed_date('s.brief_date', 'and') }}
