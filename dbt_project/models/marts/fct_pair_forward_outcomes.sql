-- What followed every day of a pair, per horizon: the reference sets of the base rates
-- (mart_outcome_base_rates) and the distribution a divergence outcome is read against.
-- One row per pair, start day and horizon (var outcome_horizons_days). A start day is every
-- leader trading date on which the laggard has a close too (both instruments have data);
-- every figure uses EXACTLY the rules of mart_divergence_outcomes, with the start day in
-- place of an episode's end_date:
--   {side}_return = the close as of start_date + N calendar days (the last stored close on
--     or before it: int_pair_closes_daily) / the close on start_date - 1; null while
--     start_date + N lies after that instrument's last stored date (never a partial window).
--   laggard_beat = laggard_return > leader_return; null unless both are known.
--   laggard_days_to_record: calendar days to the laggard's next record on
--     var('divergence_laggard_basis') after start_date; laggard_set_record: it came within N
--     days (true), or the whole window is stored without one (false); null while unknown.
-- The reference-set flags are as known on start_date (fct_divergence_daily): the leader's
-- record on var('divergence_leader_basis'), the laggard at least
-- var('divergence_laggard_min_drawdown') below its record on the laggard basis.
{%- set horizons = var('outcome_horizons_days') %}
{%- set record_basis = var('divergence_laggard_basis') %}
with start_days as (
    select
        pair_id,
        leader,
        laggard,
        date                 as start_date,
        leader_close,
        laggard_close,
        leader_at_record,
        laggard_below_peak,
        is_divergent
    from {{ ref('fct_divergence_daily') }}
    where laggard_close is not null
),

horizons as (
    {%- for n in horizons %}
    select cast({{ n }} as integer) as horizon_days
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- every laggard date with the laggard's next record (after it) on the laggard basis
laggard_rows as (
    select
        symbol,
        date,
        min(case when {{ basis_column(record_basis, 'record', 'p') }} then date end) over (
            partition by symbol order by date
            rows between 1 following and unbounded following
        ) as next_record_date
    from {{ ref('int_running_peaks') }} as p
    where symbol in ({{ divergence_pair_symbols() }})
),

coverage as (
    select symbol, max(date) as last_date
    from {{ ref('int_pair_closes_daily') }}
    group by symbol
),

windows as (
    select
        s.*,
        h.horizon_days,
        {{ add_days('s.start_date', 'h.horizon_days') }} as window_end_date
    from start_days as s
    cross join horizons as h
),

measured as (
    select
        w.pair_id,
        w.leader,
        w.laggard,
        w.start_date,
        w.horizon_days,
        w.window_end_date,
        w.leader_close                                              as leader_close_at_start,
        w.laggard_close                                             as laggard_close_at_start,
        case when w.window_end_date <= lv.last_date
            then lc.close_as_of / w.leader_close - 1 end            as leader_return,
        case when w.window_end_date <= gv.last_date
            then gc.close_as_of / w.laggard_close - 1 end           as laggard_return,
        {{ days_between('w.start_date', 'r.next_record_date') }}    as laggard_days_to_record,
        w.window_end_date <= gv.last_date                           as laggard_window_stored,
        w.leader_at_record,
        w.laggard_below_peak,
        w.is_divergent,
        lv.last_date                                                as leader_last_date,
        gv.last_date                                                as laggard_last_date
    from windows as w
    inner join coverage as lv on lv.symbol = w.leader
    inner join coverage as gv on gv.symbol = w.laggard
    left join {{ ref('int_pair_closes_daily') }} as lc
        on lc.symbol = w.leader and lc.date = w.window_end_date
    left join {{ ref('int_pair_closes_daily') }} as gc
        on gc.symbol = w.laggard and gc.date = w.window_end_date
    left join laggard_rows as r
        on r.symbol = w.laggard and r.date = w.start_date
)

select
    m.pair_id,
    m.leader,
    m.laggard,
    m.start_date,
    m.horizon_days,
    m.window_end_date,
    m.leader_close_at_start,
    m.laggard_close_at_start,
    m.leader_return,
    m.laggard_return,
    m.laggard_return - m.leader_return                              as laggard_minus_leader_return,
    m.laggard_return > m.leader_return                              as laggard_beat,
    cast('{{ record_basis }}' as string)                           as record_basis,
    m.laggard_days_to_record,
    case when m.laggard_days_to_record <= m.horizon_days then true
         when m.laggard_window_stored then false end                as laggard_set_record,
    m.leader_at_record                                              as is_leader_record,
    m.laggard_below_peak                                            as is_laggard_below_threshold,
    m.is_divergent,
    e.episode_number                                                as ended_episode_number,
    m.leader_last_date,
    m.laggard_last_date
from measured as m
left join {{ ref('fct_divergence_episodes') }} as e
    on e.pair_id = m.pair_id and e.end_date = m.start_date
