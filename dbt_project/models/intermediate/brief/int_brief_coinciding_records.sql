-- The brief's coinciding records: each pair's var('brief_recent_coinciding') most recent
-- leader record events (records of either basis, int_record_clusters basis 'any') known by
-- the day (brief_date) to coincide with a laggard record, the newest first (recency_rank
-- 1); an event still in progress that day shows only its records up to that day.
-- Grain: (brief_date, pair_id, recency_rank).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
{%- set n_recent = var('brief_recent_coinciding') %}
-- the pair's record events known to coincide, the newest first: event i is the k-th newest
-- from the day the (i+k-1)-th becomes known until the (i+k)-th does
with known_events as (
    select
        c.*,
        row_number() over (partition by c.pair_id order by c.known_from, c.start_date) as seq
    from {{ ref('int_record_clusters') }} as c
    where c.basis = 'any' and c.coincides
),

ranked_events as (
    {%- for k in range(1, n_recent + 1) %}
    select
        e.*,
        {{ k }} as recency_rank,
        {% if k == 1 %}e.known_from{% else %}lead(e.known_from, {{ k - 1 }}) over by_seq{% endif %}
            as valid_from,
        lead(e.known_from, {{ k }}) over by_seq as valid_to
    from known_events as e
    window by_seq as (partition by e.pair_id order by e.seq)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

brief_dates as (
    {{ brief_dates() }}
),

event_days as (
    select d.brief_date, e.*
    from ranked_events as e
    inner join brief_dates as d
        on d.brief_date >= e.valid_from
        and (e.valid_to is null or d.brief_date < e.valid_to)
),

-- an event still in progress that day shows only its records up to that day
event_as_of as (
    select
        e.pair_id,
        e.brief_date,
        e.recency_rank,
        max(r.date)                                          as end_date,
        max(case when r.basis = 'close' then r.value end)    as top_close,
        max(case when r.basis = 'high' then r.value end)     as top_high,
        max(case when r.basis = 'close' then r.date end)     as top_close_date,
        max(case when r.basis = 'high' then r.date end)      as top_high_date
    from event_days as e
    inner join {{ ref('fct_all_time_highs') }} as r
        on r.symbol = e.leader
        and r.date between e.start_date and e.brief_date
        and not r.is_first_observation
    where e.brief_date < e.end_date
    group by e.pair_id, e.brief_date, e.recency_rank
),

pairs as (
    {{ brief_pairs() }}
)

select
    e.brief_date,
    e.pair_id,
    e.leader,
    e.laggard,
    e.recency_rank,
    p.leader_name,
    p.laggard_name,
    {{ pair_subject_name('e.leader', 'e.laggard', 'p.leader_name', 'p.laggard_name') }}
                                                             as pair_name,
    e.start_date                                             as event_start_date,
    coalesce(a.end_date, e.end_date)                         as event_end_date,
    case when a.pair_id is null then e.top_close else a.top_close end
                                                             as leader_record_close,
    case when a.pair_id is null then e.top_high else a.top_high end
                                                             as leader_record_high,
    case when a.pair_id is null then e.top_close_date else a.top_close_date end
                                                             as leader_record_close_date,
    case when a.pair_id is null then e.top_high_date else a.top_high_date end
                                                             as leader_record_high_date,
    case when e.match_date <= e.brief_date then e.match_date else e.first_match_date end
                                                             as laggard_record_date,
    case when e.match_date <= e.brief_date then e.match_value else e.first_match_value end
                                                             as laggard_record_value,
    case when e.match_date <= e.brief_date then e.match_close else e.first_match_close end
                                                             as laggard_record_close,
    case when e.match_date <= e.brief_date then e.match_high else e.first_match_high end
                                                             as laggard_record_high,
    'record_' || replace(
        case when e.match_date <= e.brief_date then e.match_bases else e.first_match_bases end,
        '+', '+record_')                                     as laggard_records,
    e.known_from
from event_days as e
inner join pairs as p on p.pair_id = e.pair_id
left join event_as_of as a
    on a.pair_id = e.pair_id and a.brief_date = e.brief_date and a.recency_rank = e.recency_rank
