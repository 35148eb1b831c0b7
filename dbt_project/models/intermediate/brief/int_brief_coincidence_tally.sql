-- The brief's coincidence tally: each pair on every day from its first divergence row
-- (brief_date), how many of its leader record events (int_record_clusters basis 'any')
-- settled by then coincided with a laggard record, did not, or cannot be told (no laggard
-- data in their window). An event counts from the day its answer is settled: coinciding
-- from known_from, not coinciding a window after its last record, unknown from then too.
-- Grain: (brief_date, pair_id).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder):
-- the days from it on add their events to those settled before it.
{%- set from_sql = changed_from_sql() %}
with event_status as (
    select
        pair_id,
        coalesce(known_from, window_end_date)                as settled_from,
        case when coincides then 1 else 0 end                as is_yes,
        case when not coincides then 1 else 0 end            as is_no,
        case when coincides is null then 1 else 0 end        as is_unknown
    from {{ ref('int_record_clusters') }}
    where basis = 'any'
),

tally_steps as (
    select pair_id, settled_from, sum(is_yes) as yes, sum(is_no) as no, sum(is_unknown) as unknown
    from event_status
    group by pair_id, settled_from
),

pairs as (
    {{ brief_pairs() }}
),

-- what was settled before the first brief_date computed (nothing on a full build)
tally_before as (
    select t.pair_id, sum(t.yes) as yes, sum(t.no) as no, sum(t.unknown) as unknown
    from tally_steps as t
    inner join pairs as p on p.pair_id = t.pair_id
    where t.settled_from >= p.first_date
    {%- if from_sql %}
        and t.settled_from < {{ from_sql }}
    {%- else %}
        and false
    {%- endif %}
    group by t.pair_id
),

-- the pair's days: those of its divergence state
pair_days as (
    select brief_date, pair_id, leader, laggard, leader_name, laggard_name, pair_name
    from {{ ref('int_brief_divergence') }}
    {{ from_the_changed_date('brief_date') }}
)

select
    pd.brief_date,
    pd.pair_id,
    pd.leader,
    pd.laggard,
    pd.leader_name,
    pd.laggard_name,
    pd.pair_name,
    cast(sum(coalesce(t.yes, 0)) over running + coalesce(b.yes, 0) as integer)
                                                             as n_coinciding,
    cast(sum(coalesce(t.no, 0)) over running + coalesce(b.no, 0) as integer)
                                                             as n_not_coinciding,
    cast(sum(coalesce(t.unknown, 0)) over running + coalesce(b.unknown, 0) as integer)
                                                             as n_unknown
from pair_days as pd
left join tally_steps as t on t.pair_id = pd.pair_id and t.settled_from = pd.brief_date
left join tally_before as b on b.pair_id = pd.pair_id
window running as (
    partition by pd.pair_id order by pd.brief_date
    rows between unbounded preceding and current row
)
