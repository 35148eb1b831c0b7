-- Candidate bottoms of each pair's leader, as they appear day by day, matched with the
-- laggard's lowest low: the logic behind fct_peak_coincidence's joint bottoms (each
-- episode's final trough) and the brief's "latest joint bottom" as known on a given day.
--
-- Within a leader drawdown episode (close basis: from a record close to the next one), a
-- candidate is a close below every earlier close of the episode and at least
-- var('joint_bottom_min_leader_drawdown') below the peak. A later, lower close supersedes
-- it (superseded_date); the last candidate of an episode is its trough (first date of the
-- lowest close), as in fct_drawdown_episodes.
-- The laggard's lowest intraday low, least(low, close), within var('coincidence_window_days')
-- calendar days either side (the earliest on a tie) is matched with it; they coincide when
-- that low lies strictly inside the window (on the edge, the laggard was still falling or
-- had bottomed earlier). Unknown is not false: coincides is null unless the laggard's
-- stored history covers the whole window.
-- confirmed_date: trough + window, the day the laggard's side is complete, provided the
-- leader has not made a lower close by then (else the candidate is never confirmed).
{%- set window_days = var('coincidence_window_days') %}
{%- set min_dd = var('joint_bottom_min_leader_drawdown') %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

leader_days as (
    select
        p.pair_id,
        p.leader,
        p.laggard,
        r.date,
        r.close,
        r.drawdown_close,
        {{ running_count('r.is_record_close', 'p.pair_id', 'r.date') }} as record_group
    from pairs as p
    inner join {{ ref('int_running_peaks') }} as r on r.symbol = p.leader
),

with_low as (
    select
        *,
        min(date) over (partition by pair_id, record_group)  as peak_date,
        min(close) over (
            partition by pair_id, record_group order by date
            rows between unbounded preceding and 1 preceding
        )                                                    as earlier_low
    from leader_days
),

candidates as (
    select
        pair_id,
        leader,
        laggard,
        record_group,
        peak_date,
        date                                                 as trough_date,
        close                                                as trough_close,
        drawdown_close                                       as trough_drawdown,
        lead(date) over (partition by pair_id, record_group order by date)
                                                             as superseded_date
    from with_low
    where close < earlier_low
      and drawdown_close <= -{{ min_dd }}
),

laggard_coverage as (
    select symbol, min(date) as first_date, max(date) as last_date
    from {{ ref('int_running_peaks') }}
    group by symbol
),

laggard_lows as (
    select pair_id, trough_date, laggard_low_date, laggard_low
    from (
        select
            c.pair_id,
            c.trough_date,
            g.date      as laggard_low_date,
            g.low_value as laggard_low,
            row_number() over (
                partition by c.pair_id, c.trough_date order by g.low_value, g.date
            )           as lowest
        from candidates as c
        inner join {{ ref('int_running_peaks') }} as g
            on g.symbol = c.laggard
            and g.date between {{ add_days('c.trough_date', -window_days) }}
                           and {{ add_days('c.trough_date', window_days) }}
    ) as ranked
    where lowest = 1
)

select
    c.pair_id,
    c.leader,
    c.laggard,
    c.peak_date,
    c.trough_date,
    c.trough_close,
    c.trough_drawdown,
    c.superseded_date,
    c.superseded_date is null                                   as is_episode_trough,
    l.laggard_low_date,
    l.laggard_low,
    {{ days_between('c.trough_date', 'l.laggard_low_date') }}  as days_from_trough,
    case
        when v.first_date <= {{ add_days('c.trough_date', -window_days) }}
            and v.last_date >= {{ add_days('c.trough_date', window_days) }}
            then abs({{ days_between('c.trough_date', 'l.laggard_low_date') }}) < {{ window_days }}
    end                                                         as coincides,
    case
        when c.superseded_date is null
            or c.superseded_date > {{ add_days('c.trough_date', window_days) }}
            then {{ add_days('c.trough_date', window_days) }}
    end                                                         as confirmed_date,
    {{ window_days }}                                           as window_days
from candidates as c
left join laggard_lows as l using (pair_id, trough_date)
left join laggard_coverage as v on v.symbol = c.laggard
