-- mart_outcome_significance as known on each day a pair is divergent: what the brief of that
-- day can state, with nothing from a later price. One row per pair, calendar day and horizon
-- for every day whose leader's latest trading date on or before it is divergent (the days
-- the brief tells a divergence; a weekend after a divergent Friday is one). As of day D:
--   the divergence outcomes: the pair's episodes that ended before the current episode
--     began, whose N-day window had passed by D (end_date + N <= D) with both returns
--     known -- the brief's "earlier divergences";
--   the base rates: start days whose window had passed by D (start_date + N <= D) with a
--     known outcome (fct_pair_forward_outcomes), in each reference set;
--   the exact one-sided binomial tail of the first against the unconditional rate, and the
--     verdict by the rules of the vars outcome_verdicts / outcome_verdict_otherwise.
with pair_days as (
    select
        pair_id,
        leader,
        laggard,
        date,
        is_divergent,
        lead(date) over (partition by pair_id order by date) as next_leader_date
    from {{ ref('fct_divergence_daily') }}
),

leader_calendars as (
    select symbol, max(calendar) as calendar
    from {{ ref('int_running_peaks') }}
    where symbol in ({{ divergence_pair_symbols() }})
    group by symbol
),

-- each calendar day from a divergent leader date to the day before the next leader date (to
-- the newest stored day after the last one)
days as (
    select
        v.pair_id,
        v.leader,
        v.laggard,
        c.date,
        v.date          as leader_date,
        e.start_date    as episode_start_date
    from pair_days as v
    inner join leader_calendars as lc on lc.symbol = v.leader
    inner join {{ ref('int_calendar_days') }} as c
        on c.calendar = lc.calendar and c.date >= v.date
        and (v.next_leader_date is null or c.date < v.next_leader_date)
    inner join {{ ref('fct_divergence_episodes') }} as e
        on e.pair_id = v.pair_id and v.date between e.start_date and e.end_date
    where v.is_divergent
),

horizon_days as (
    select distinct horizon_days from {{ ref('fct_pair_forward_outcomes') }}
),

day_horizons as (
    select d.*, h.horizon_days
    from days as d
    cross join horizon_days as h
),

earlier as (
    select
        d.pair_id,
        d.date,
        d.horizon_days,
        cast(count(o.episode_number) as integer)                 as n_earlier_episodes,
        cast(sum(case when o.is_known and o.window_end_date <= d.date then 1 else 0 end)
             as integer)                                         as n_known,
        cast(sum(case when o.is_known and o.window_end_date <= d.date
                      and o.laggard_return > o.leader_return then 1 else 0 end) as integer)
                                                                 as n_laggard_beat
    from day_horizons as d
    left join (
        {%- for n in var('outcome_horizons_days') %}
        select
            pair_id,
            episode_number,
            end_date,
            {{ n }}                                              as horizon_days,
            {{ add_days('end_date', n) }}                        as window_end_date,
            laggard_return_{{ n }}d                              as laggard_return,
            leader_return_{{ n }}d                               as leader_return,
            laggard_return_{{ n }}d is not null
                and leader_return_{{ n }}d is not null           as is_known
        from {{ ref('mart_divergence_outcomes') }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as o
        on o.pair_id = d.pair_id and o.horizon_days = d.horizon_days
        and o.end_date < d.episode_start_date
    group by d.pair_id, d.date, d.horizon_days
),

base as (
    select
        d.pair_id,
        d.date,
        d.horizon_days,
        {%- for name, set in outcome_reference_sets().items() %}
        cast(sum(case when {{ set.condition }} then 1 else 0 end) as integer)
                                                                 as {{ name }}_n_known,
        cast(sum(case when ({{ set.condition }}) and f.laggard_beat then 1 else 0 end)
             as integer)                                         as {{ name }}_n_laggard_beat,
        {%- endfor %}
        min(f.start_date)                                        as first_start_date,
        max(f.start_date)                                        as last_start_date
    from day_horizons as d
    inner join {{ ref('fct_pair_forward_outcomes') }} as f
        on f.pair_id = d.pair_id and f.horizon_days = d.horizon_days
        and f.window_end_date <= d.date and f.laggard_beat is not null
    group by d.pair_id, d.date, d.horizon_days
),

tests as (
    select
        e.pair_id,
        e.date,
        e.horizon_days,
        e.n_laggard_beat                                         as k,
        e.n_known                                                as n,
        case when b.all_days_n_known > 0
            then cast(b.all_days_n_laggard_beat as double) / b.all_days_n_known end as p0
    from earlier as e
    left join base as b
        on b.pair_id = e.pair_id and b.date = e.date and b.horizon_days = e.horizon_days
),

log_factorials as (
    {{ log_factorials() }}
),

tails as (
    {{ binomial_upper_tail('tests', ['pair_id', 'date', 'horizon_days']) }}
)

select
    d.pair_id,
    d.leader,
    d.laggard,
    d.date,
    d.leader_date,
    d.episode_start_date,
    d.horizon_days,
    e.n_earlier_episodes,
    e.n_known,
    e.n_laggard_beat,
    case when e.n_known > 0 then cast(e.n_laggard_beat as double) / e.n_known end
                                                                 as share_laggard_beat,
    coalesce(b.all_days_n_known, 0)                              as base_rate_n_known,
    coalesce(b.all_days_n_laggard_beat, 0)                       as base_rate_n_laggard_beat,
    t.p0                                                         as base_rate_share,
    b.first_start_date                                           as base_rate_first_start_date,
    b.last_start_date                                            as base_rate_last_start_date,
    coalesce(b.leader_record_n_known, 0)                         as leader_record_n_known,
    case when b.leader_record_n_known > 0 then cast(b.leader_record_n_laggard_beat as double)
        / b.leader_record_n_known end                            as leader_record_share,
    coalesce(b.laggard_below_threshold_n_known, 0)               as laggard_below_n_known,
    case when b.laggard_below_threshold_n_known > 0
        then cast(b.laggard_below_threshold_n_laggard_beat as double)
            / b.laggard_below_threshold_n_known end              as laggard_below_share,
    case when e.n_known > 0 then cast(e.n_laggard_beat as double) / e.n_known end - t.p0
                                                                 as share_minus_base_rate,
    cast('exact binomial, one-sided' as string)                 as method,
    p.p_value,
    {{ outcome_verdict('p.p_value', 'e.n_known') }}              as verdict,
    {{ outcome_verdict_rules_text() }}                           as verdict_rules,
    e.n_known < {{ var('outcome_min_episodes') }}                as is_anecdotal,
    {{ var('outcome_min_episodes') }}                            as min_episodes_for_pattern
from day_horizons as d
inner join earlier as e
    on e.pair_id = d.pair_id and e.date = d.date and e.horizon_days = d.horizon_days
left join base as b
    on b.pair_id = d.pair_id and b.date = d.date and b.horizon_days = d.horizon_days
left join tests as t
    on t.pair_id = d.pair_id and t.date = d.date and t.horizon_days = d.horizon_days
left join tails as p
    on p.pair_id = d.pair_id and p.date = d.date and p.horizon_days = d.horizon_days
