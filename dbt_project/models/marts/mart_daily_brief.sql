{{ config(
    materialized="incremental",
    incremental_strategy=strategy_from_the_changed_date(),
    partition_by=partitions_from_the_changed_date(),
    partition_year_of="brief_date",
    on_schema_change="fail",
    pre_hook="{{ delete_from_the_changed_date('brief_date') }}",
    post_hook=[
        "{{ forget_brief_dates_outside_the_prices() }}",
        "{{ record_rewritten_rows() }}",
    ],
) }}
-- The day's story as facts: for every calendar day from the first stored price to the last
-- (brief_date), one row per fact, each as it was known that day -- nothing from a later
-- price, publication or episode. `make brief` and the published brief.md only format these
-- rows. Fact kinds (fact_kind), each filling the columns _mart_daily_brief.yml lists:
--   record             an instrument set a record close / record intraday high that day
--   standing           each instrument on each basis: its latest close on or before the day,
--                      its record then and how far below it (0 at a record), since when,
--                      and how many sessions of its calendar it is behind the day (stale)
--   no_data            a catalog instrument with no stored price at all, or a pair's
--                      instrument before its first stored price
--   divergence         each pair on the leader's latest date on or before the day: divergent,
--                      not, or unknown (no laggard close); the current or last episode, and
--                      the time since the previous one
--   coinciding_records the pair's most recent record events (leader records of either basis,
--                      int_record_clusters basis 'any') known by then to coincide with a
--                      laggard record (fact_rank 1 = newest)
--   coincidence_tally  how many of the pair's record events, settled by then, coincided, did
--                      not, or cannot be told (no laggard data in their window)
--   joint_bottom       the latest confirmed leader bottom the laggard bottomed with
--                      (int_joint_bottoms: confirmed a window after the trough, if the leader
--                      made no lower close by then)
--   divergence_history on a divergent day, per horizon: what happened after the pair's
--                      earlier episodes whose window had passed by then, with n
--   outcome_comparison on a divergent day, per horizon: those outcomes against the base
--                      rates of the same horizon as known that day, with the test and its
--                      verdict (mart_outcome_significance_daily)
--   lead_lag           each pair's lead/lag reading and correlation trend as known on the
--                      leader's latest date (mart_lead_lag_summary_daily)
--   policy_rate        the federal funds target-range move in force, with its FOMC
--                      announcement day (seed) and its effective day (FRED)
--   net_liquidity      net liquidity as known that day (latest published complete H.4.1 week)
--   rates              the 2-year yield minus EFFR, a proxy of priced moves (not a probability)
--   event              dated facts from the seed (as reported) of the last
--                      var('brief_event_window_days') days, and announced ones due within as
--                      many days (is_upcoming)
--   quarantined_row    a row of an instrument or FRED series that a load quarantined
--                      (raw.quarantined_rows) and no later load resolved, from its date on
--                      (applies_from; every day when its date cannot be read or lies in
--                      the future): its figures are without it
--
-- Incremental (README, "Incremental marts"): every row of a brief_date uses only what was
-- known by that day, so when the inputs changed from a date on (LOCKSTEP_INPUTS_CHANGED_FROM,
-- which the dbt asset computes from raw's arrival times: orchestration/lib/incremental.py),
-- only the brief_dates from then on are recomputed: the pre-hook deletes them (a plain
-- range delete; dbt's delete+insert would join every new row with every stored row of its
-- day) and the batch is appended; what the earlier days
-- carry into them (the latest price or pair row before, the tally so far) is read from the
-- inputs. Without it, or on a full build, every brief_date is computed.
{%- set stale_after = var('stale_after_sessions') %}
{%- set n_recent = var('brief_recent_coinciding') %}
{%- set event_days = var('brief_event_window_days') %}
{%- set horizons = var('outcome_horizons_days') %}
{%- set threshold = var('divergence_laggard_min_drawdown') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
{%- set min_n = var('outcome_min_episodes') %}
{%- set rate_stale = var('rates_max_staleness_days') %}
{%- set from_date = inputs_changed_from() %}
{%- set from_sql = "cast('" ~ from_date ~ "' as date)" if from_date else none %}
-- int_running_peaks is read where it is used, never through a shared CTE: DuckDB
-- materializes a CTE read more than once, here every row and column of the history.
with instruments as (
    select * from {{ ref('stg_instruments') }}
),

bounds as (
    select min(date) as first_date, max(date) as last_date
    from {{ ref('int_running_peaks') }}
),

brief_dates as (
    {%- if from_sql %}
    {{ calendar_days('(select case when first_date > ' ~ from_sql ~ ' then first_date else '
                     ~ from_sql ~ ' end from bounds)', '(select last_date from bounds)',
                     'brief_date') }}
    {%- else %}
    {{ calendar_days('(select first_date from bounds)', '(select last_date from bounds)',
                     'brief_date') }}
    {%- endif %}
),

calendar_days as (
    select * from {{ ref('int_calendar_days') }}
),

-- ---------------------------------------------------------------- instruments
history as (
    select
        symbol,
        min(date) as first_date,
        {%- if from_sql %}
        max(case when date < {{ from_sql }} then date end) as date_before
        {%- else %}
        cast(null as date) as date_before
        {%- endif %}
    from {{ ref('int_running_peaks') }}
    group by symbol
),

symbol_days as (
    select
        h.symbol,
        d.brief_date,
        coalesce(max(p.date) over (
            partition by h.symbol order by d.brief_date
            rows between unbounded preceding and current row
        ), h.date_before) as as_of_date
    from history as h
    inner join brief_dates as d on d.brief_date >= h.first_date
    left join {{ ref('int_running_peaks') }} as p
        on p.symbol = h.symbol and p.date = d.brief_date
),

standing_base as (
    select
        s.brief_date,
        s.as_of_date,
        p.*,
        i.instrument_name,
        i.history_note,
        i.display_order,
        h.first_date                                        as history_start_date,
        c_now.sessions_to_date - c_then.sessions_to_date    as sessions_behind
    from symbol_days as s
    inner join {{ ref('int_running_peaks') }} as p
        on p.symbol = s.symbol and p.date = s.as_of_date
    inner join history as h on h.symbol = s.symbol
    left join instruments as i on i.symbol = s.symbol
    left join calendar_days as c_then
        on c_then.calendar = p.calendar and c_then.date = s.as_of_date
    left join calendar_days as c_now
        on c_now.calendar = p.calendar and c_now.date = s.brief_date
),

standing as (
    {%- for basis in ['close', 'high'] %}
    select {{ brief_select({
        'brief_date': 'brief_date', 'fact_kind': "'standing'", 'fact_rank': 'display_order',
        'symbol': 'symbol',
        'subject_name': 'instrument_name', 'basis': "'" ~ basis ~ "'",
        'as_of_date': 'as_of_date', 'close': 'close',
        'record_value': 'peak_' ~ basis, 'record_date': 'peak_' ~ basis ~ '_date',
        'fraction_below_record': 'drawdown_' ~ basis,
        'days_since_record': days_between('peak_' ~ basis ~ '_date', 'as_of_date'),
        'sessions_since_record': 'session_number - peak_' ~ basis ~ '_session',
        'is_at_record': 'is_record_' ~ basis,
        'sessions_behind': 'sessions_behind',
        'is_stale': 'sessions_behind > ' ~ stale_after,
        'history_start_date': 'history_start_date', 'history_note': 'history_note',
        'source': 'source', 'is_synthetic': "source = 'demo'",
    }) }}
    from standing_base
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

records_today as (
    select {{ brief_select({
        'brief_date': 'r.date', 'fact_kind': "'record'", 'fact_rank': 'i.display_order',
        'symbol': 'r.symbol',
        'subject_name': 'i.instrument_name', 'basis': 'r.basis', 'as_of_date': 'r.date',
        'record_value': 'r.value', 'record_date': 'r.date',
        'previous_record_value': 'r.previous_record_value',
        'previous_record_date': 'r.previous_record_date',
        'gain_over_previous': 'r.gain_over_previous',
        'days_since_previous_record': 'r.days_since_previous',
        'is_at_record': 'true',
        'history_start_date': 'r.history_start_date', 'history_note': 'r.history_note',
        'source': 'r.source', 'is_synthetic': "r.source = 'demo'",
    }) }}
    from {{ ref('fct_all_time_highs') }} as r
    left join instruments as i using (symbol)
    where not r.is_first_observation
    {%- if from_sql %}
        and r.date >= {{ from_sql }}
    {%- endif %}
),

configured_pairs as (
    select c.*, case c.pair_id
        {%- for p in var('divergence_pairs') %}
        when '{{ p.leader }}/{{ p.laggard }}' then {{ loop.index }}
        {%- endfor %}
    end as pair_rank
    from ({{ divergence_pairs_cte() }}) as c
),

no_data as (
    select {{ brief_select({
        'brief_date': 'd.brief_date', 'fact_kind': "'no_data'", 'fact_rank': 'i.display_order',
        'symbol': 'i.symbol',
        'subject_name': 'i.instrument_name',
        'history_start_date': 'h.first_date',
    }) }}
    from instruments as i
    cross join brief_dates as d
    left join history as h on h.symbol = i.symbol
    where h.first_date is null
       or (d.brief_date < h.first_date and i.symbol in ({{ divergence_pair_symbols() }}))
    union all
    -- a configured pair with no divergence row that day (its leader has no stored price by
    -- then): each member without a stored price is named with the pair, never skipped
    select {{ brief_select({
        'brief_date': 'd.brief_date', 'fact_kind': "'no_data'", 'fact_rank': 'p.pair_rank',
        'symbol': 'm.symbol', 'pair_id': 'p.pair_id', 'leader': 'p.leader',
        'laggard': 'p.laggard',
        'subject_name': 'coalesce(i.instrument_name, m.symbol)',
        'leader_name': 'li.instrument_name', 'laggard_name': 'gi.instrument_name',
        'history_start_date': 'h.first_date',
    }) }}
    from configured_pairs as p
    cross join brief_dates as d
    inner join (
        select pair_id, leader as symbol from configured_pairs
        union all
        select pair_id, laggard from configured_pairs
    ) as m on m.pair_id = p.pair_id
    left join history as h on h.symbol = m.symbol
    left join instruments as i on i.symbol = m.symbol
    left join instruments as li on li.symbol = p.leader
    left join instruments as gi on gi.symbol = p.laggard
    left join (
        select pair_id, min(date) as first_date
        from {{ ref('fct_divergence_daily') }}
        group by pair_id
    ) as v on v.pair_id = p.pair_id
    where (v.first_date is null or d.brief_date < v.first_date)
      and (h.first_date is null or d.brief_date < h.first_date)
),

-- ---------------------------------------------------------------- pairs
divergence_daily as (
    select
        *,
        {{ running_count('is_divergent', 'pair_id', 'date') }} as divergent_days_to_date
    from {{ ref('fct_divergence_daily') }}
),

pairs as (
    select
        v.pair_id,
        v.leader,
        v.laggard,
        min(v.date)                                          as first_date,
        {%- if from_sql %}
        max(case when v.date < {{ from_sql }} then v.date end) as date_before,
        {%- else %}
        cast(null as date)                                   as date_before,
        {%- endif %}
        max(li.instrument_name)                              as leader_name,
        max(gi.instrument_name)                              as laggard_name,
        max(cp.pair_rank)                                    as pair_rank
    from divergence_daily as v
    left join instruments as li on li.symbol = v.leader
    left join instruments as gi on gi.symbol = v.laggard
    left join configured_pairs as cp on cp.pair_id = v.pair_id
    group by v.pair_id, v.leader, v.laggard
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
),

divergence as (
    select {{ brief_select({
        'brief_date': 'brief_date', 'fact_kind': "'divergence'", 'fact_rank': 'pair_rank',
        'pair_id': 'pair_id',
        'leader': 'leader', 'laggard': 'laggard',
        'subject_name': "coalesce(leader_name, leader) || ' / ' || coalesce(laggard_name, laggard)",
        'leader_name': 'leader_name', 'laggard_name': 'laggard_name',
        'as_of_date': 'as_of_date', 'is_divergent': 'is_divergent',
        'leader_close': 'leader_close', 'leader_at_record': 'leader_at_record',
        'laggard_close': 'laggard_close',
        'laggard_fraction_below_record': 'laggard_drawdown_' ~ laggard_basis,
        'laggard_basis': "'" ~ laggard_basis ~ "'",
        'divergence_threshold': threshold,
        'episode_start_date': 'episode_start_date',
        'divergent_days_so_far': 'divergent_days_so_far',
        'last_divergent_date': 'last_divergent_date',
        'days_since_last_divergent': days_between('last_divergent_date', 'as_of_date'),
        'previous_episode_end_date': 'previous_episode_end_date',
        'days_since_previous_episode': 'days_since_previous_episode',
        'sessions_since_previous_episode': 'sessions_since_previous_episode',
    }) }}
    from pair_episode
),

-- the pair's record events (either basis) known to coincide, the newest first: event i is
-- the k-th newest from the day the (i+k-1)-th becomes known until the (i+k)-th does
known_events as (
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
        {{ k }} as fact_rank,
        {% if k == 1 %}e.known_from{% else %}lead(e.known_from, {{ k - 1 }}) over by_seq{% endif %}
            as valid_from,
        lead(e.known_from, {{ k }}) over by_seq as valid_to
    from known_events as e
    window by_seq as (partition by e.pair_id order by e.seq)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
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
        e.fact_rank,
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
    group by e.pair_id, e.brief_date, e.fact_rank
),

coinciding as (
    select {{ brief_select({
        'brief_date': 'e.brief_date', 'fact_kind': "'coinciding_records'",
        'fact_rank': 'e.fact_rank', 'pair_id': 'e.pair_id', 'leader': 'e.leader',
        'laggard': 'e.laggard',
        'subject_name': "coalesce(p.leader_name, e.leader) || ' / ' || coalesce(p.laggard_name, e.laggard)",
        'leader_name': 'p.leader_name', 'laggard_name': 'p.laggard_name',
        'as_of_date': 'e.brief_date',
        'event_start_date': 'e.start_date',
        'event_end_date': 'coalesce(a.end_date, e.end_date)',
        'leader_record_close': 'case when a.pair_id is null then e.top_close else a.top_close end',
        'leader_record_high': 'case when a.pair_id is null then e.top_high else a.top_high end',
        'leader_record_close_date': 'case when a.pair_id is null then e.top_close_date else a.top_close_date end',
        'leader_record_high_date': 'case when a.pair_id is null then e.top_high_date else a.top_high_date end',
        'laggard_event_date': 'case when e.match_date <= e.brief_date then e.match_date else e.first_match_date end',
        'laggard_event_value': 'case when e.match_date <= e.brief_date then e.match_value else e.first_match_value end',
        'laggard_record_close': 'case when e.match_date <= e.brief_date then e.match_close else e.first_match_close end',
        'laggard_record_high': 'case when e.match_date <= e.brief_date then e.match_high else e.first_match_high end',
        'laggard_event': "'record_' || replace(case when e.match_date <= e.brief_date then e.match_bases else e.first_match_bases end, '+', '+record_')",
        'coincides': 'true', 'known_from': 'e.known_from',
    }) }}
    from event_days as e
    inner join pairs as p on p.pair_id = e.pair_id
    left join event_as_of as a
        on a.pair_id = e.pair_id and a.brief_date = e.brief_date and a.fact_rank = e.fact_rank
),

-- each record event counts from the day its answer is settled: coinciding from known_from,
-- not coinciding a window after its last record, unknown (no laggard data) from then too
event_status as (
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

tally as (
    select
        pd.pair_id,
        pd.brief_date,
        sum(coalesce(t.yes, 0)) over running + coalesce(b.yes, 0)
                                                             as n_coinciding,
        sum(coalesce(t.no, 0)) over running + coalesce(b.no, 0)
                                                             as n_not_coinciding,
        sum(coalesce(t.unknown, 0)) over running + coalesce(b.unknown, 0)
                                                             as n_unknown
    from pair_days as pd
    left join tally_steps as t on t.pair_id = pd.pair_id and t.settled_from = pd.brief_date
    left join tally_before as b on b.pair_id = pd.pair_id
    window running as (
        partition by pd.pair_id order by pd.brief_date
        rows between unbounded preceding and current row
    )
),

coincidence_tally as (
    select {{ brief_select({
        'brief_date': 't.brief_date', 'fact_kind': "'coincidence_tally'",
        'pair_id': 't.pair_id', 'leader': 'p.leader', 'laggard': 'p.laggard',
        'subject_name': "coalesce(p.leader_name, p.leader) || ' / ' || coalesce(p.laggard_name, p.laggard)",
        'leader_name': 'p.leader_name', 'laggard_name': 'p.laggard_name',
        'as_of_date': 't.brief_date',
        'n_coinciding': 't.n_coinciding', 'n_not_coinciding': 't.n_not_coinciding',
        'n_unknown': 't.n_unknown',
    }) }}
    from tally as t
    inner join pairs as p on p.pair_id = t.pair_id
),

-- the latest confirmed joint bottom: confirmed on confirmed_date, until the leader closes
-- lower (superseded_date) -- fact_rank 1, with its age; and, fact_rank 2, the latest of the
-- leader's later confirmed bottoms (of later drawdown episodes, each episode's lowest close
-- as known then) that the laggard did not bottom with, with their count (n_not_coinciding):
-- "the 2022-23 drawdown had none". Bottoms whose answer is unknown (no laggard data around
-- them) are left out.
bottoms as (
    select *
    from {{ ref('int_joint_bottoms') }}
    where coincides is not null and confirmed_date is not null
),

bottom_days as (
    select
        d.brief_date,
        b.*,
        max(case when b.coincides then b.trough_date end) over (
            partition by b.pair_id, d.brief_date
        ) as joint_trough_date
    from bottoms as b
    inner join brief_dates as d
        on d.brief_date >= b.confirmed_date
        and (b.superseded_date is null or d.brief_date < b.superseded_date)
),

bottom_ranked as (
    select
        *,
        case when coincides then 1 else 2 end as bottom_rank,
        row_number() over (
            partition by pair_id, brief_date, coincides order by trough_date desc
        ) as newest,
        count(*) over (partition by pair_id, brief_date, coincides) as n_of_kind
    from bottom_days
    where coincides or trough_date > joint_trough_date
),

joint_bottom as (
    select {{ brief_select({
        'brief_date': 'b.brief_date', 'fact_kind': "'joint_bottom'",
        'fact_rank': 'b.bottom_rank',
        'pair_id': 'b.pair_id', 'leader': 'b.leader', 'laggard': 'b.laggard',
        'subject_name': "coalesce(p.leader_name, b.leader) || ' / ' || coalesce(p.laggard_name, b.laggard)",
        'leader_name': 'p.leader_name', 'laggard_name': 'p.laggard_name',
        'as_of_date': 'b.brief_date',
        'record_date': 'b.peak_date',
        'event_start_date': 'b.trough_date',
        'days_since_event': days_between('b.trough_date', 'b.brief_date'),
        'leader_trough_close': 'b.trough_close',
        'leader_trough_drawdown': 'b.trough_drawdown',
        'laggard_event_date': 'b.laggard_low_date', 'laggard_event_value': 'b.laggard_low',
        'laggard_event': "'lowest_low'", 'coincides': 'b.coincides',
        'known_from': 'b.confirmed_date',
        'n_not_coinciding': 'case when not b.coincides then b.n_of_kind end',
    }) }}
    from bottom_ranked as b
    inner join pairs as p on p.pair_id = b.pair_id
    where b.newest = 1
),

-- what happened after the pair's earlier episodes, as known on a divergent day: only
-- episodes whose N-day window had passed by then (never the current one)
history_inputs as (
    select
        s.brief_date,
        s.pair_id,
        s.leader,
        s.laggard,
        s.leader_name,
        s.laggard_name,
        s.episode_start_date,
        o.end_date,
        o.laggard_last_date,
        {%- for n in horizons %}
        o.laggard_return_{{ n }}d,
        o.leader_return_{{ n }}d,
        {%- endfor %}
        o.laggard_days_to_record_{{ laggard_basis }}
    from pair_episode as s
    inner join {{ ref('mart_divergence_outcomes') }} as o
        on o.pair_id = s.pair_id and o.end_date < s.episode_start_date
    where s.is_divergent
),

history_by_horizon as (
    {%- for n in horizons %}
    select
        brief_date,
        pair_id,
        leader,
        laggard,
        leader_name,
        laggard_name,
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
        brief_date,
        pair_id,
        leader,
        laggard,
        leader_name,
        laggard_name,
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
    group by brief_date, pair_id, leader, laggard, leader_name, laggard_name, horizon_days
),

divergence_history as (
    select {{ brief_select({
        'brief_date': 'brief_date', 'fact_kind': "'divergence_history'",
        'fact_rank': 'horizon_days', 'pair_id': 'pair_id', 'leader': 'leader',
        'laggard': 'laggard',
        'subject_name': "coalesce(leader_name, leader) || ' / ' || coalesce(laggard_name, laggard)",
        'leader_name': 'leader_name', 'laggard_name': 'laggard_name',
        'as_of_date': 'brief_date',
        'horizon_days': 'horizon_days', 'n_episodes': 'n_episodes', 'n_known': 'n_known',
        'n_laggard_beat': 'n_laggard_beat',
        'share_laggard_beat': 'case when n_known > 0 then cast(n_laggard_beat as double) / n_known end',
        'median_laggard_return': 'median_laggard_return',
        'median_leader_return': 'median_leader_return',
        'record_basis': "'" ~ laggard_basis ~ "'",
        'n_record_known': 'n_record_known', 'n_laggard_record': 'n_laggard_record',
        'share_laggard_record': 'case when n_record_known > 0 then cast(n_laggard_record as double) / n_record_known end',
        'is_anecdotal': 'n_known < ' ~ min_n, 'min_episodes_for_pattern': min_n,
    }) }}
    from history_counted
),

-- on a divergent day, per horizon: the earlier episodes' outcomes against how often the
-- laggard beat the leader from any day, any leader record day and any day the laggard was
-- below the threshold, each from the windows that had passed by then, with the exact
-- binomial test and the verdict its rules give (mart_outcome_significance_daily: the same
-- episodes and outcomes as divergence_history)
outcome_comparison as (
    select {{ brief_select({
        'brief_date': 's.brief_date', 'fact_kind': "'outcome_comparison'",
        'fact_rank': 'o.horizon_days', 'pair_id': 's.pair_id', 'leader': 's.leader',
        'laggard': 's.laggard',
        'subject_name': "coalesce(s.leader_name, s.leader) || ' / ' || coalesce(s.laggard_name, s.laggard)",
        'leader_name': 's.leader_name', 'laggard_name': 's.laggard_name',
        'as_of_date': 's.brief_date',
        'laggard_basis': "'" ~ laggard_basis ~ "'", 'divergence_threshold': threshold,
        'horizon_days': 'o.horizon_days', 'n_episodes': 'o.n_earlier_episodes',
        'n_known': 'o.n_known', 'n_laggard_beat': 'o.n_laggard_beat',
        'share_laggard_beat': 'o.share_laggard_beat',
        'base_rate_share': 'o.base_rate_share', 'base_rate_n_known': 'o.base_rate_n_known',
        'base_rate_first_start_date': 'o.base_rate_first_start_date',
        'base_rate_last_start_date': 'o.base_rate_last_start_date',
        'leader_record_share': 'o.leader_record_share',
        'leader_record_n_known': 'o.leader_record_n_known',
        'laggard_below_share': 'o.laggard_below_share',
        'laggard_below_n_known': 'o.laggard_below_n_known',
        'test_method': 'o.method', 'p_value': 'o.p_value', 'verdict': 'o.verdict',
        'is_anecdotal': 'o.is_anecdotal', 'min_episodes_for_pattern': 'o.min_episodes_for_pattern',
    }) }}
    from pair_state as s
    inner join {{ ref('mart_outcome_significance_daily') }} as o
        on o.pair_id = s.pair_id and o.date = s.brief_date
    where s.is_divergent and o.n_earlier_episodes > 0
),

-- every pair, every day: does the laggard lead or lag the leader, from the weekly returns up
-- to the last week ending by the leader's latest date, and the share of the last year with
-- a positive daily-return correlation (mart_lead_lag_summary_daily)
lead_lag as (
    select {{ brief_select({
        'brief_date': 's.brief_date', 'fact_kind': "'lead_lag'", 'fact_rank': 's.pair_rank',
        'pair_id': 's.pair_id', 'leader': 's.leader', 'laggard': 's.laggard',
        'subject_name': "coalesce(s.leader_name, s.leader) || ' / ' || coalesce(s.laggard_name, s.laggard)",
        'leader_name': 's.leader_name', 'laggard_name': 's.laggard_name',
        'as_of_date': 'l.date',
        'first_week_ending': 'l.first_week_ending', 'last_week_ending': 'l.last_week_ending',
        'max_lag_weeks': var('lead_lag_max_lag_weeks'),
        'peak_lag_weeks': 'l.peak_lag_weeks', 'peak_corr': 'l.peak_corr',
        'peak_n_weeks': 'l.peak_n_weeks', 'peak_band_95': 'l.peak_band_95',
        'lag0_corr': 'l.lag0_corr', 'lag0_n_weeks': 'l.lag0_n_weeks',
        'fisher_z': 'l.fisher_z',
        'is_peak_distinguishable_from_lag0': 'l.is_peak_distinguishable_from_lag0',
        'lead_lag_reading': 'l.reading', 'test_method': 'l.comparison_method',
        'trend_days': var('correlation_trend_days'), 'trend_first_date': 'l.trend_first_date',
        'n_corr_30_known': 'l.n_corr_30_known',
        'share_corr_30_positive': 'l.share_corr_30_positive',
        'n_corr_90_known': 'l.n_corr_90_known',
        'share_corr_90_positive': 'l.share_corr_90_positive',
    }) }}
    from pair_state as s
    inner join {{ ref('mart_lead_lag_summary_daily') }} as l
        on l.pair_id = s.pair_id and l.date = s.as_of_date
),

-- ---------------------------------------------------------------- the Fed
rate_changes as (
    select
        *,
        lead(effective_date) over (order by effective_date) as next_effective_date
    from {{ ref('fct_policy_rate_changes') }}
),

fred_source as (
    select max(source) as source from {{ ref('stg_fred_observations') }}
),

-- the range in force as of FRED's latest target observation on or before the day
-- (as_of_date): stale, and so named with its last date, beyond rates_max_staleness_days
policy_rate as (
    select {{ brief_select({
        'brief_date': 'd.brief_date', 'fact_kind': "'policy_rate'",
        'subject_name': "'Federal funds target range'",
        'as_of_date': 'coalesce(least(r.target_lower_as_of, r.target_upper_as_of), c.effective_date)',
        'days_since_as_of': days_between('coalesce(least(r.target_lower_as_of, r.target_upper_as_of), c.effective_date)', 'd.brief_date'),
        'is_stale': days_between('coalesce(least(r.target_lower_as_of, r.target_upper_as_of), c.effective_date)', 'd.brief_date') ~ ' > ' ~ rate_stale,
        'effective_date': 'c.effective_date', 'announcement_date': 'c.announcement_date',
        'change_bp': 'c.change_bp', 'direction': 'c.direction',
        'number_in_year': 'c.number_in_year',
        'old_lower': 'c.old_lower', 'old_upper': 'c.old_upper',
        'new_lower': 'c.new_lower', 'new_upper': 'c.new_upper',
        'source': 'f.source', 'is_synthetic': "f.source = 'demo'",
    }) }}
    from rate_changes as c
    inner join brief_dates as d
        on d.brief_date >= c.effective_date
        and (c.next_effective_date is null or d.brief_date < c.next_effective_date)
    left join {{ ref('int_rates_daily') }} as r on r.date = d.brief_date
    cross join fred_source as f
),

-- is_stale: the week is more than 13 days old, so a newer one is missing (each week is
-- published within 12 days of its Wednesday, even after a holiday: Monday 2025-12-29 for
-- 2025-12-24)
net_liquidity as (
    select {{ brief_select({
        'brief_date': 'n.date', 'fact_kind': "'net_liquidity'",
        'subject_name': "'Net liquidity'",
        'as_of_date': 'n.net_liquidity_week_ending',
        'days_since_as_of': days_between('n.net_liquidity_week_ending', 'n.date'),
        'is_stale': days_between('n.net_liquidity_week_ending', 'n.date') ~ ' > 13',
        'week_ending': 'n.net_liquidity_week_ending',
        'available_from': 'n.net_liquidity_available_from',
        'net_liquidity': 'n.net_liquidity',
        'net_liquidity_change_4w': 'n.net_liquidity_change_4w',
        'treasuries_change_1w': 'n.treasuries_change_1w',
        'source': 'f.source', 'is_synthetic': "f.source = 'demo'",
    }) }}
    from {{ ref('int_net_liquidity_daily') }} as n
    inner join brief_dates as d on d.brief_date = n.date
    cross join fred_source as f
    where n.net_liquidity is not null
),

-- the 2-year yield minus EFFR, each rate as of its latest publication (dgs2_as_of,
-- effr_as_of); when either is older than rates_max_staleness_days the spread is unknown
-- (is_stale) and the row names the series with its last date instead of vanishing
rates as (
    select {{ brief_select({
        'brief_date': 'r.date', 'fact_kind': "'rates'",
        'subject_name': "'2-year Treasury yield minus EFFR (proxy)'",
        'as_of_date': 'least(r.dgs2_as_of, r.effr_as_of)',
        'days_since_as_of': days_between('least(r.dgs2_as_of, r.effr_as_of)', 'r.date'),
        'is_stale': 'r.spread_2y_effr is null',
        'dgs2': 'r.dgs2', 'effr': 'r.effr', 'spread_2y_effr': 'r.spread_2y_effr',
        'dgs2_as_of': 'r.dgs2_as_of', 'effr_as_of': 'r.effr_as_of',
        'source': 'f.source', 'is_synthetic': "f.source = 'demo'",
    }) }}
    from {{ ref('int_rates_daily') }} as r
    inner join brief_dates as d on d.brief_date = r.date
    cross join fred_source as f
    where r.dgs2_as_of is not null and r.effr_as_of is not null
),

-- ---------------------------------------------------------------- dated events (seed)
events as (
    select {{ brief_select({
        'brief_date': 'd.brief_date', 'fact_kind': "'event'",
        'subject_name': 'e.kind', 'as_of_date': 'e.known_from',
        'event_date': 'e.event_date', 'event_kind': 'e.kind', 'event_text': 'e.text',
        'event_source': 'e.source', 'event_label': 'e.label',
        'effective_date': 'e.effective_date', 'announcement_date': 'e.announced_date',
        'known_from': 'e.known_from',
        'is_upcoming': 'e.event_date > d.brief_date',
    }) }}
    from {{ ref('fct_dated_events') }} as e
    inner join brief_dates as d
        on e.known_from <= d.brief_date
        and (
            e.known_from > {{ add_days('d.brief_date', -event_days) }}
            or e.event_date between {{ add_days('d.brief_date', -event_days + 1) }}
                                and {{ add_days('d.brief_date', event_days) }}
        )
),

-- ---------------------------------------------------------------- quarantined rows
quarantine as (
    select symbol as subject, date, column_name, raw_value, reason, applies_from, row_key,
           source
    from {{ ref('stg_market_prices_quarantined') }}
    where is_open
    union all
    select series_id, date, column_name, raw_value, reason, applies_from, row_key, source
    from {{ ref('stg_fred_observations_quarantined') }}
    where is_open
),

quarantine_ranked as (
    select
        *,
        row_number() over (
            partition by subject order by date nulls first, column_name, reason, row_key
        ) as fact_rank
    from quarantine
),

quarantined as (
    select {{ brief_select({
        'brief_date': 'd.brief_date', 'fact_kind': "'quarantined_row'",
        'fact_rank': 'q.fact_rank', 'symbol': 'q.subject',
        'subject_name': 'coalesce(i.instrument_name, s.series_name, q.subject)',
        'as_of_date': 'q.applies_from', 'quarantined_date': 'q.date',
        'quarantined_column': 'q.column_name', 'quarantined_value': 'q.raw_value',
        'quarantine_reason': 'q.reason',
        'source': 'q.source', 'is_synthetic': "q.source = 'demo'",
    }) }}
    from quarantine_ranked as q
    inner join brief_dates as d
        on q.applies_from is null or d.brief_date >= q.applies_from
    left join instruments as i on i.symbol = q.subject
    left join {{ ref('stg_fred_series') }} as s on s.series_id = q.subject
)

select * from records_today
union all select * from standing
union all select * from no_data
union all select * from divergence
union all select * from coinciding
union all select * from coincidence_tally
union all select * from joint_bottom
union all select * from divergence_history
union all select * from outcome_comparison
union all select * from lead_lag
union all select * from policy_rate
union all select * from net_liquidity
union all select * from rates
union all select * from events
union all select * from quarantined
