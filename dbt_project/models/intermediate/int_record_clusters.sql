-- The leader's record clusters of every configured pair, matched with the laggard's
-- records: the logic behind fct_peak_coincidence (basis 'close' and 'high') and the brief's
-- record events (basis 'any': records on either basis, one cluster however they mix).
--
-- A cluster: the leader's records (the first stored day left out: a record needs an earlier
-- price to beat) where each is at most var('record_cluster_max_gap_sessions') leader
-- sessions after the previous record of the same basis ('any': of either basis).
-- A match: a laggard record, on either basis, within var('coincidence_window_days')
-- calendar days of the cluster (the laggard's first stored day is not a record either).
--   match_*       the nearest match (0 days when inside the cluster; among equally near
--                 ones, the one closest to the cluster's top record, then the earlier)
--   first_match_* the match that could be known first (see known_from)
--   *_close, *_high the laggard's record close and record intraday high that day (null on
--                 the basis it set no record): a day with both states two values, never one
--   top_close / top_high and their dates: the cluster's highest record close and intraday
--                 high (the last record of each basis: records only rise)
-- coincides: true with a match; false only when the laggard's stored history covers the
--   whole window [start - window, end + window] and holds no match; null (unknown) else.
-- known_from: for a coinciding cluster, the first day by which a matching laggard record
--   and a leader record of the cluster within the window had both happened (the window of
--   a cluster still growing reaches a laggard record g once the cluster has a record on or
--   after g - window); otherwise the window's last day, end + window (null while unknown).
{%- set max_gap = var('record_cluster_max_gap_sessions') %}
{%- set window_days = var('coincidence_window_days') %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

-- only the pairs' instruments are read (grouping every symbol's records would cost a daily
-- build time in proportion to the catalog, for a handful of pairs)
pair_symbols as (
    select leader as symbol from pairs
    union
    select laggard from pairs
),

records as (
    select * from {{ ref('fct_all_time_highs') }}
    where symbol in (select symbol from pair_symbols)
),

-- a day that is a record on either basis, with the spacing to the previous such day
any_basis as (
    select
        symbol,
        date,
        case when is_record_close then close end         as close_value,
        case when is_record_high then high_value end     as high_value,
        date = min(date) over (partition by symbol)      as is_first_observation,
        session_number - lag(session_number) over (partition by symbol order by date)
                                                         as sessions_since_previous
    from {{ ref('int_running_peaks') }}
    where (is_record_close or is_record_high) and symbol in (select leader from pairs)
),

leader_records as (
    select
        p.pair_id, p.leader, p.laggard, r.basis, r.date, r.sessions_since_previous,
        r.value                                          as value,
        case when r.basis = 'close' then r.value end     as close_value,
        case when r.basis = 'high' then r.value end      as high_value
    from pairs as p
    inner join records as r on r.symbol = p.leader
    where not r.is_first_observation
    union all
    select
        p.pair_id, p.leader, p.laggard, 'any' as basis, a.date, a.sessions_since_previous,
        coalesce(a.close_value, a.high_value)            as value,
        a.close_value,
        a.high_value
    from pairs as p
    inner join any_basis as a on a.symbol = p.leader
    where not a.is_first_observation
),

clustered as (
    select
        *,
        {{ running_count('sessions_since_previous > ' ~ max_gap, 'pair_id, basis', 'date') }}
            as cluster_number
    from leader_records
),

clusters as (
    select
        pair_id,
        leader,
        laggard,
        basis,
        cluster_number,
        min(date)                 as start_date,
        max(date)                 as end_date,
        max_by(value, date)      as top_value,
        max(close_value)          as top_close,
        max(high_value)           as top_high,
        -- records of one basis only rise within a cluster: its top is its last record
        max(case when close_value is not null then date end) as top_close_date,
        max(case when high_value is not null then date end)  as top_high_date,
        cast(count(*) as integer) as n_records
    from clustered
    group by pair_id, leader, laggard, basis, cluster_number
),

laggard_coverage as (
    select symbol, min(date) as first_date, max(date) as last_date
    from {{ ref('int_running_peaks') }}
    where symbol in (select laggard from pairs)
    group by symbol
),

laggard_records as (
    select
        symbol,
        date,
        {{ ordered_string_agg('basis', '+', ['basis']) }}            as bases,
        max(case when basis = 'close' then value end)    as record_close,
        max(case when basis = 'high' then value end)     as record_high
    from records
    where not is_first_observation
    group by symbol, date
),

matches as (
    select
        c.pair_id,
        c.basis,
        c.cluster_number,
        r.date                                           as laggard_date,
        r.bases                                          as laggard_bases,
        coalesce(r.record_close, r.record_high)          as laggard_value,
        r.record_close                                   as laggard_close,
        r.record_high                                    as laggard_high,
        case
            when r.date < c.start_date then {{ days_between('r.date', 'c.start_date') }}
            when r.date > c.end_date then {{ days_between('c.end_date', 'r.date') }}
            else 0
        end                                              as distance_days,
        abs({{ days_between('c.end_date', 'r.date') }})  as distance_to_top,
        -- the first day a leader record of the cluster had the laggard record in reach
        min(k.date)                                      as first_record_in_reach
    from clusters as c
    inner join laggard_records as r
        on r.symbol = c.laggard
        and r.date between {{ add_days('c.start_date', -window_days) }}
                       and {{ add_days('c.end_date', window_days) }}
    inner join clustered as k
        on k.pair_id = c.pair_id and k.basis = c.basis and k.cluster_number = c.cluster_number
        and k.date >= {{ add_days('r.date', -window_days) }}
    group by
        c.pair_id, c.basis, c.cluster_number, c.start_date, c.end_date, r.date, r.bases,
        r.record_close, r.record_high
),

ranked as (
    select
        *,
        greatest(laggard_date, first_record_in_reach) as known_from,
        row_number() over (
            partition by pair_id, basis, cluster_number
            order by distance_days, distance_to_top, laggard_date
        ) as nearest_rank,
        row_number() over (
            partition by pair_id, basis, cluster_number
            order by greatest(laggard_date, first_record_in_reach), distance_days,
                     distance_to_top, laggard_date
        ) as first_known_rank
    from matches
)

select
    c.pair_id,
    c.leader,
    c.laggard,
    c.basis,
    c.cluster_number,
    c.start_date,
    c.end_date,
    c.top_value,
    c.top_close,
    c.top_high,
    c.top_close_date,
    c.top_high_date,
    c.n_records,
    n.laggard_date                                        as match_date,
    n.laggard_value                                       as match_value,
    n.laggard_bases                                       as match_bases,
    n.laggard_close                                       as match_close,
    n.laggard_high                                        as match_high,
    f.laggard_date                                        as first_match_date,
    f.laggard_value                                       as first_match_value,
    f.laggard_bases                                       as first_match_bases,
    f.laggard_close                                       as first_match_close,
    f.laggard_high                                        as first_match_high,
    case
        when n.laggard_date is not null then true
        when v.first_date <= {{ add_days('c.start_date', -window_days) }}
            and v.last_date >= {{ add_days('c.end_date', window_days) }} then false
    end                                                   as coincides,
    case
        when n.laggard_date is not null then f.known_from
        when v.first_date <= {{ add_days('c.start_date', -window_days) }}
            and v.last_date >= {{ add_days('c.end_date', window_days) }}
            then {{ add_days('c.end_date', window_days) }}
    end                                                   as known_from,
    {{ add_days('c.end_date', window_days) }}             as window_end_date,
    {{ window_days }}                                     as window_days
from clusters as c
left join ranked as n
    on n.pair_id = c.pair_id and n.basis = c.basis and n.cluster_number = c.cluster_number
    and n.nearest_rank = 1
left join ranked as f
    on f.pair_id = c.pair_id and f.basis = c.basis and f.cluster_number = c.cluster_number
    and f.first_known_rank = 1
left join laggard_coverage as v on v.symbol = c.laggard
