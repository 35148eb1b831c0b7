-- The brief's divergence state: each pair on every day from its first divergence row
-- (brief_date), as of the leader's latest date on or before the day (as_of_date):
-- divergent, not, or unknown (is_divergent null: no laggard close); the current or last
-- episode, and the time since the previous one. The brief's other pair facts (outcomes,
-- comparisons, lead/lag, the tally) start from these rows. Grain: (brief_date, pair_id).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder):
-- a day before it carries the pair's latest row into the days after (date_before).
{%- set threshold = var('divergence_laggard_min_drawdown') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
with divergence_daily as (
    select
        *,
        {{ running_count('is_divergent', 'pair_id', 'date') }} as divergent_days_to_date
    from {{ ref('fct_divergence_daily') }}
),

pairs as (
    {{ brief_pairs() }}
),

brief_dates as (
    {{ brief_dates() }}
),

pair_days as (
    select
        p.pair_id,
        d.brief_date,
        coalesce(max(v.date) over (
            partition by p.pair_id order by d.brief_date
            rows between unbounded preceding and current row
        ), p.date_before) as as_of_date
    from pairs as p
    inner join brief_dates as d on d.brief_date >= p.first_date
    left join divergence_daily as v on v.pair_id = p.pair_id and v.date = d.brief_date
),

pair_state as (
    select
        pd.brief_date,
        pd.as_of_date,
        p.leader_name,
        p.laggard_name,
        p.pair_rank,
        v.*,
        case when v.is_divergent then v.date else v.previous_divergent_date end
                                                             as last_divergent_date
    from pair_days as pd
    inner join divergence_daily as v on v.pair_id = pd.pair_id and v.date = pd.as_of_date
    inner join pairs as p on p.pair_id = pd.pair_id
),

pair_episode as (
    select
        s.*,
        e.start_date                                         as episode_start_date,
        e.previous_episode_end_date,
        e.days_since_previous_episode,
        e.sessions_since_previous_episode,
        s.divergent_days_to_date - vs.divergent_days_to_date + 1 as divergent_days_so_far
    from pair_state as s
    left join {{ ref('fct_divergence_episodes') }} as e
        on e.pair_id = s.pair_id
        and s.last_divergent_date between e.start_date and e.end_date
    left join divergence_daily as vs
        on vs.pair_id = s.pair_id and vs.date = e.start_date
)

select
    brief_date,
    pair_id,
    leader,
    laggard,
    pair_rank,
    leader_name,
    laggard_name,
    {{ pair_subject_name('leader', 'laggard', 'leader_name', 'laggard_name') }} as pair_name,
    as_of_date,
    is_divergent,
    leader_close,
    leader_at_record,
    laggard_close,
    laggard_drawdown_{{ laggard_basis }}                    as laggard_fraction_below_record,
    '{{ laggard_basis }}'                                   as laggard_basis,
    cast({{ threshold }} as double)                         as divergence_threshold,
    episode_start_date,
    divergent_days_so_far,
    last_divergent_date,
    {{ days_between('last_divergent_date', 'as_of_date') }} as days_since_last_divergent,
    previous_episode_end_date,
    cast(days_since_previous_episode as integer)            as days_since_previous_episode,
    sessions_since_previous_episode
from pair_episode
