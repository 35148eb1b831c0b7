-- What happened after each divergence episode: one row per episode of every pair
-- (fct_divergence_episodes), measured from the episode's last divergent day (end_date).
--   {side}_return_{N}d = the close as of end_date + N calendar days (the last stored close
--     on or before that day) / the close as of end_date - 1, for N in
--     var('outcome_horizons_days'); null when end_date + N lies after the instrument's
--     last stored date (never a partial window).
--   laggard_days_to_record_{basis}: calendar days from end_date to the laggard's next
--     record on that basis (close: record close; high: record intraday high); null while
--     there is none.
--   leader_worst_drawdown_to_laggard_record_{basis}: the leader's deepest close-basis
--     drawdown (its close against its record close, <= 0) after end_date up to and
--     including the day of that laggard record; null while there is none.
--   is_final: more than var('divergence_episode_max_gap_sessions') leader sessions are
--     stored after end_date, so no later divergent day can extend the episode.
{%- set horizons = var('outcome_horizons_days') %}
{%- set max_gap = var('divergence_episode_max_gap_sessions') %}
with episodes as (
    select pair_id, leader, laggard, episode_number, start_date, end_date, divergent_days
    from {{ ref('fct_divergence_episodes') }}
),

-- the instruments of the pairs only (this CTE is read three times, so DuckDB materializes
-- it: over every instrument it would hold the whole price history)
prices as (
    select symbol, date, session_number, close, drawdown_close, is_record_close, is_record_high
    from {{ ref('int_running_peaks') }}
    where symbol in (select leader from episodes union all select laggard from episodes)
),

coverage as (
    select symbol, max(date) as last_date, max(session_number) as last_session
    from prices
    group by symbol
),

-- both instruments from end_date on (the end_date row gives the starting close)
after_end as (
    select e.pair_id, e.episode_number, 'leader' as side, p.*
    from episodes as e
    inner join prices as p on p.symbol = e.leader and p.date >= e.end_date
    union all
    select e.pair_id, e.episode_number, 'laggard' as side, p.*
    from episodes as e
    inner join prices as p on p.symbol = e.laggard and p.date >= e.end_date
),

measured as (
    select
        a.pair_id,
        a.episode_number,
        max(case when a.side = 'leader' and a.date = e.end_date then a.close end)
                                                               as leader_close_at_end,
        max(case when a.side = 'laggard' and a.date = e.end_date then a.close end)
                                                               as laggard_close_at_end,
        max(case when a.side = 'leader' and a.date = e.end_date then a.session_number end)
                                                               as leader_end_session,
        {%- for n in horizons %}
        max_by(case when a.side = 'leader' then a.close end,
               case when a.side = 'leader' and a.date <= {{ add_days('e.end_date', n) }}
                    then a.date end)                           as leader_close_{{ n }}d,
        max_by(case when a.side = 'laggard' then a.close end,
               case when a.side = 'laggard' and a.date <= {{ add_days('e.end_date', n) }}
                    then a.date end)                           as laggard_close_{{ n }}d,
        {%- endfor %}
        min(case when a.side = 'laggard' and a.date > e.end_date and a.is_record_close
                 then a.date end)                              as laggard_record_close_date,
        min(case when a.side = 'laggard' and a.date > e.end_date and a.is_record_high
                 then a.date end)                              as laggard_record_high_date
    from after_end as a
    inner join episodes as e using (pair_id, episode_number)
    group by a.pair_id, a.episode_number
),

leader_worst as (
    select
        m.pair_id,
        m.episode_number,
        min(case when a.date <= m.laggard_record_close_date then a.drawdown_close end)
            as worst_to_record_close,
        min(case when a.date <= m.laggard_record_high_date then a.drawdown_close end)
            as worst_to_record_high
    from measured as m
    inner join episodes as e using (pair_id, episode_number)
    inner join after_end as a
        on a.pair_id = m.pair_id and a.episode_number = m.episode_number
        and a.side = 'leader' and a.date > e.end_date
    group by m.pair_id, m.episode_number
)

select
    e.pair_id,
    e.leader,
    e.laggard,
    e.episode_number,
    e.start_date,
    e.end_date,
    e.divergent_days,
    m.leader_close_at_end,
    m.laggard_close_at_end,
    {%- for n in horizons %}
    case when {{ add_days('e.end_date', n) }} <= gv.last_date
        then m.laggard_close_{{ n }}d / m.laggard_close_at_end - 1 end  as laggard_return_{{ n }}d,
    case when {{ add_days('e.end_date', n) }} <= lv.last_date
        then m.leader_close_{{ n }}d / m.leader_close_at_end - 1 end    as leader_return_{{ n }}d,
    {%- endfor %}
    {{ days_between('e.end_date', 'm.laggard_record_close_date') }}    as laggard_days_to_record_close,
    {{ days_between('e.end_date', 'm.laggard_record_high_date') }}     as laggard_days_to_record_high,
    w.worst_to_record_close      as leader_worst_drawdown_to_laggard_record_close,
    w.worst_to_record_high       as leader_worst_drawdown_to_laggard_record_high,
    lv.last_session - m.leader_end_session > {{ max_gap }}             as is_final,
    lv.last_date                                                       as leader_last_date,
    gv.last_date                                                       as laggard_last_date
from episodes as e
inner join measured as m using (pair_id, episode_number)
left join leader_worst as w using (pair_id, episode_number)
inner join coverage as lv on lv.symbol = e.leader
inner join coverage as gv on gv.symbol = e.laggard
