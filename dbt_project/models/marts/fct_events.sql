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
-- Each column means one thing; a kind fills the columns of its own (fct_events.yml), the
-- others are null.
{%- set max_gap = var('divergence_episode_max_gap_sessions') %}
{%- set event_columns = [
    ('event_key', 'string'), ('kind', 'string'), ('event_date', 'date'),
    ('symbol', 'string'), ('pair_id', 'string'), ('subject_name', 'string'),
    ('start_date', 'date'), ('end_date', 'date'),
    ('record_close', 'double'), ('previous_record_close', 'double'),
    ('previous_record_date', 'date'), ('gain_over_previous', 'double'),
    ('days_since_previous_record', 'integer'),
    ('leader_close_at_start', 'double'), ('laggard_drawdown_high_at_start', 'double'),
    ('previous_episode_end_date', 'date'), ('days_since_previous_episode', 'integer'),
    ('leader_close_at_end', 'double'), ('laggard_worst_drawdown_high', 'double'),
    ('divergent_days', 'integer'),
    ('leader_top_record', 'double'), ('laggard_record', 'double'),
    ('laggard_record_date', 'date'), ('laggard_record_bases', 'string'),
    ('leader_trough_close', 'double'), ('leader_trough_drawdown', 'double'),
    ('laggard_low', 'double'), ('laggard_low_date', 'date'),
    ('new_lower', 'double'), ('new_upper', 'double'), ('announcement_date', 'date'),
    ('change_bp', 'integer'), ('direction', 'string'), ('number_in_year', 'integer'),
    ('source', 'string'),
] %}
with instruments as (
    select symbol, instrument_name from {{ ref('stg_instruments') }}
),

daily as (
    select * from {{ ref('fct_divergence_daily') }}
),

pair_names as (
    select distinct
        d.pair_id,
        coalesce(li.instrument_name, d.leader) || ' / '
            || coalesce(gi.instrument_name, d.laggard)       as subject_name
    from daily as d
    left join instruments as li on li.symbol = d.leader
    left join instruments as gi on gi.symbol = d.laggard
),

records as (
    select {{ typed_select(event_columns, {
        'event_key': "'record_close|' || r.symbol || '|' || cast(r.date as string)",
        'kind': "'record_close'", 'event_date': 'r.date', 'symbol': 'r.symbol',
        'subject_name': 'coalesce(i.instrument_name, r.symbol)', 'start_date': 'r.date',
        'record_close': 'r.value', 'previous_record_close': 'r.previous_record_value',
        'previous_record_date': 'r.previous_record_date',
        'gain_over_previous': 'r.gain_over_previous',
        'days_since_previous_record': 'r.days_since_previous',
        'source': 'r.source',
    }) }}
    from {{ ref('fct_all_time_highs') }} as r
    left join instruments as i using (symbol)
    where r.basis = 'close' and not r.is_first_observation
),

episodes as (
    select
        e.*,
        s.leader_close                                      as leader_close_at_start,
        s.laggard_drawdown_high                             as laggard_drawdown_high_at_start,
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
    select {{ typed_select(event_columns, {
        'event_key': "'divergence_started|' || e.pair_id || '|' || cast(e.start_date as string)",
        'kind': "'divergence_started'", 'event_date': 'e.start_date', 'pair_id': 'e.pair_id',
        'subject_name': 'p.subject_name', 'start_date': 'e.start_date',
        'leader_close_at_start': 'e.leader_close_at_start',
        'laggard_drawdown_high_at_start': 'e.laggard_drawdown_high_at_start',
        'previous_episode_end_date': 'e.previous_episode_end_date',
        'days_since_previous_episode': 'e.days_since_previous_episode',
    }) }}
    from episodes as e
    inner join pair_names as p using (pair_id)
),

ended as (
    select {{ typed_select(event_columns, {
        'event_key': "'divergence_ended|' || e.pair_id || '|' || cast(e.start_date as string)",
        'kind': "'divergence_ended'", 'event_date': 'o.over_date', 'pair_id': 'e.pair_id',
        'subject_name': 'p.subject_name', 'start_date': 'e.start_date',
        'end_date': 'e.end_date', 'leader_close_at_end': 'e.leader_close_at_end',
        'laggard_worst_drawdown_high': 'e.laggard_worst_drawdown_high',
        'divergent_days': 'e.divergent_days',
    }) }}
    from episodes as e
    inner join episode_over as o using (pair_id, episode_number)
    inner join pair_names as p using (pair_id)
),

coincide as (
    select {{ typed_select(event_columns, {
        'event_key': "'records_coincide|' || c.pair_id || '|' || cast(c.start_date as string)",
        'kind': "'records_coincide'", 'event_date': 'c.known_from', 'pair_id': 'c.pair_id',
        'subject_name': 'p.subject_name', 'start_date': 'c.start_date',
        'end_date': 'c.end_date', 'leader_top_record': 'coalesce(c.top_close, c.top_high)',
        'laggard_record': 'c.first_match_value', 'laggard_record_date': 'c.first_match_date',
        'laggard_record_bases': 'c.first_match_bases',
    }) }}
    from {{ ref('int_record_clusters') }} as c
    inner join pair_names as p using (pair_id)
    where c.basis = 'any' and c.coincides
),

bottoms as (
    select {{ typed_select(event_columns, {
        'event_key': "'joint_bottom|' || b.pair_id || '|' || cast(b.trough_date as string)",
        'kind': "'joint_bottom'", 'event_date': 'b.confirmed_date', 'pair_id': 'b.pair_id',
        'subject_name': 'p.subject_name', 'start_date': 'b.trough_date',
        'leader_trough_close': 'b.trough_close', 'leader_trough_drawdown': 'b.trough_drawdown',
        'laggard_low': 'b.laggard_low', 'laggard_low_date': 'b.laggard_low_date',
    }) }}
    from {{ ref('int_joint_bottoms') }} as b
    inner join pair_names as p using (pair_id)
    where b.coincides and b.confirmed_date is not null
),

rates as (
    select {{ typed_select(event_columns, {
        'event_key': "'policy_rate_change|' || cast(c.effective_date as string)",
        'kind': "'policy_rate_change'", 'event_date': 'c.effective_date',
        'subject_name': "'Federal funds target range'", 'start_date': 'c.effective_date',
        'new_lower': 'c.new_lower', 'new_upper': 'c.new_upper',
        'announcement_date': 'c.announcement_date', 'change_bp': 'c.change_bp',
        'direction': 'c.direction', 'number_in_year': 'c.number_in_year',
    }) }}
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
    {%- for name, _ in event_columns if name != 'source' %}
    e.{{ name }},
    {%- endfor %}
    coalesce(e.source, s.market_source)                     as source,
    coalesce(e.source, s.market_source) = 'demo'            as is_synthetic
from events as e
cross join sources as s
