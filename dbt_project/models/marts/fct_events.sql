-- The story's events, one row each, dated by the day each became known from the data up to
-- that day (event_date): what the alerts announce (orchestration/lib/alerts.py sends each
-- event_key once). Kinds:
--   record_close        an instrument's new record close (not its first stored day)
--   divergence_started  a pair's divergence episode begins (its first divergent day)
--   divergence_ended    an episode is over: more than var('divergence_episode_max_gap_sessions')
--                       leader sessions passed without a divergent day (dated the first
--                       session beyond that gap)
--   records_coincide    a leader record event (records of either basis) coincides with a
--                       laggard record (int_record_clusters basis any, dated known_from)
--   joint_bottom        a leader bottom the laggard bottomed with is confirmed
--                       (int_joint_bottoms, dated confirmed_date)
--   policy_rate_change  the federal funds target range moves (dated its effective day)
-- Stale data and failed blocking checks are events too, found by Dagster's checks at run
-- time rather than in the data (they depend on the clock).
{%- set max_gap = var('divergence_episode_max_gap_sessions') %}
with instruments as (
    select symbol, instrument_name from {{ ref('stg_instruments') }}
),

daily as (
    select * from {{ ref('fct_divergence_daily') }}
),

pair_names as (
    select distinct
        d.pair_id,
        d.leader,
        d.laggard,
        coalesce(li.instrument_name, d.leader) || ' / '
            || coalesce(gi.instrument_name, d.laggard)       as subject_name,
        coalesce(li.instrument_name, d.leader)              as leader_name,
        coalesce(gi.instrument_name, d.laggard)             as laggard_name
    from daily as d
    left join instruments as li on li.symbol = d.leader
    left join instruments as gi on gi.symbol = d.laggard
),

records as (
    select
        'record_close|' || r.symbol || '|' || cast(r.date as string) as event_key,
        'record_close'                                      as kind,
        r.date                                              as event_date,
        r.symbol,
        cast(null as string)                               as pair_id,
        coalesce(i.instrument_name, r.symbol)               as subject_name,
        r.date                                              as start_date,
        cast(null as date)                                  as end_date,
        r.value,
        r.previous_record_value                             as reference_value,
        r.previous_record_date                              as reference_date,
        r.gain_over_previous                                as fraction,
        r.days_since_previous                               as days,
        cast(null as integer)                               as change_bp,
        cast(null as string)                               as detail,
        r.source
    from {{ ref('fct_all_time_highs') }} as r
    left join instruments as i using (symbol)
    where r.basis = 'close' and not r.is_first_observation
),

episodes as (
    select
        e.*,
        s.leader_close                                      as leader_close_at_start,
        s.laggard_drawdown_high                             as laggard_dd_high_at_start,
        s.laggard_drawdown_close                            as laggard_dd_close_at_start,
        x.leader_session_number                             as end_session
    from {{ ref('fct_divergence_episodes') }} as e
    inner join daily as s on s.pair_id = e.pair_id and s.date = e.start_date
    inner join daily as x on x.pair_id = e.pair_id and x.date = e.end_date
),

episode_over as (
    select e.pair_id, e.episode_number, min(d.date) as over_date
    from episodes as e
    inner join daily as d
        on d.pair_id = e.pair_id and d.leader_session_number > e.end_session + {{ max_gap }}
    group by e.pair_id, e.episode_number
),

started as (
    select
        'divergence_started|' || e.pair_id || '|' || cast(e.start_date as string) as event_key,
        'divergence_started'                                as kind,
        e.start_date                                        as event_date,
        cast(null as string)                               as symbol,
        e.pair_id,
        p.subject_name,
        e.start_date,
        cast(null as date)                                  as end_date,
        e.leader_close_at_start                             as value,
        cast(null as double)                                as reference_value,
        e.previous_episode_end_date                         as reference_date,
        e.laggard_dd_high_at_start                          as fraction,
        e.days_since_previous_episode                       as days,
        cast(null as integer)                               as change_bp,
        cast(null as string)                               as detail,
        cast(null as string)                               as source
    from episodes as e
    inner join pair_names as p using (pair_id)
),

ended as (
    select
        'divergence_ended|' || e.pair_id || '|' || cast(e.start_date as string) as event_key,
        'divergence_ended'                                  as kind,
        o.over_date                                         as event_date,
        cast(null as string)                               as symbol,
        e.pair_id,
        p.subject_name,
        e.start_date,
        e.end_date,
        e.leader_close_at_end                               as value,
        cast(null as double)                                as reference_value,
        cast(null as date)                                  as reference_date,
        e.laggard_worst_drawdown_high                       as fraction,
        e.divergent_days                                    as days,
        cast(null as integer)                               as change_bp,
        cast(null as string)                               as detail,
        cast(null as string)                               as source
    from episodes as e
    inner join episode_over as o using (pair_id, episode_number)
    inner join pair_names as p using (pair_id)
),

coincide as (
    select
        'records_coincide|' || c.pair_id || '|' || cast(c.start_date as string) as event_key,
        'records_coincide'                                  as kind,
        c.known_from                                        as event_date,
        cast(null as string)                               as symbol,
        c.pair_id,
        p.subject_name,
        c.start_date,
        c.end_date,
        coalesce(c.top_close, c.top_high)                   as value,
        c.first_match_value                                 as reference_value,
        c.first_match_date                                  as reference_date,
        cast(null as double)                                as fraction,
        cast(null as integer)                               as days,
        cast(null as integer)                               as change_bp,
        c.first_match_bases                                 as detail,
        cast(null as string)                               as source
    from {{ ref('int_record_clusters') }} as c
    inner join pair_names as p using (pair_id)
    where c.basis = 'any' and c.coincides
),

bottoms as (
    select
        'joint_bottom|' || b.pair_id || '|' || cast(b.trough_date as string) as event_key,
        'joint_bottom'                                      as kind,
        b.confirmed_date                                    as event_date,
        cast(null as string)                               as symbol,
        b.pair_id,
        p.subject_name,
        b.trough_date                                       as start_date,
        cast(null as date)                                  as end_date,
        b.trough_close                                      as value,
        b.laggard_low                                       as reference_value,
        b.laggard_low_date                                  as reference_date,
        b.trough_drawdown                                   as fraction,
        cast(null as integer)                               as days,
        cast(null as integer)                               as change_bp,
        cast(null as string)                               as detail,
        cast(null as string)                               as source
    from {{ ref('int_joint_bottoms') }} as b
    inner join pair_names as p using (pair_id)
    where b.coincides and b.confirmed_date is not null
),

rates as (
    select
        'policy_rate_change|' || cast(c.effective_date as string) as event_key,
        'policy_rate_change'                                as kind,
        c.effective_date                                    as event_date,
        cast(null as string)                               as symbol,
        cast(null as string)                               as pair_id,
        'Federal funds target range'                        as subject_name,
        c.effective_date                                    as start_date,
        cast(null as date)                                  as end_date,
        c.new_upper                                         as value,
        c.new_lower                                         as reference_value,
        c.announcement_date                                 as reference_date,
        cast(null as double)                                as fraction,
        c.number_in_year                                    as days,
        c.change_bp,
        c.direction                                         as detail,
        cast(null as string)                               as source
    from {{ ref('fct_policy_rate_changes') }} as c
),

events as (
    select * from records
    union all select * from started
    union all select * from ended
    union all select * from coincide
    union all select * from bottoms
    union all select * from rates
),

sources as (
    select max(source) as market_source from {{ ref('stg_market_prices') }}
)

select
    e.event_key,
    e.kind,
    e.event_date,
    e.symbol,
    e.pair_id,
    e.subject_name,
    e.start_date,
    e.end_date,
    e.value,
    e.reference_value,
    e.reference_date,
    e.fraction,
    e.days,
    e.change_bp,
    e.detail,
    coalesce(e.source, s.market_source)                     as source,
    coalesce(e.source, s.market_source) = 'demo'            as is_synthetic
from events as e
cross join sources as s
