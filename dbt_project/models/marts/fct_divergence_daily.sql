-- Per configured (leader, laggard) pair and leader trading date: both assets' drawdowns,
-- the gap between them, and whether the day is divergent.
-- Alignment: the leader's stored trading dates, each with the laggard's close of the same
-- calendar date (Bitcoin has one every day).
-- Unknown is not false: on a leader date the laggard has no row for (before its history
-- starts, after its last stored day, or a gap), laggard_below_peak and is_divergent are
-- null, never false.
-- Divergent day (dbt vars): the leader sets a record on divergence_leader_basis while the
-- laggard's close is at least divergence_laggard_min_drawdown below its record on
-- divergence_laggard_basis (their values and reasons: dbt_project/dbt_project.yml).
{%- set leader_basis = var('divergence_leader_basis') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
{%- set threshold = var('divergence_laggard_min_drawdown') %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

aligned as (
    select
        p.pair_id,
        p.leader,
        p.laggard,
        l.date,
        l.session_number                                 as leader_session_number,
        l.close                                          as leader_close,
        l.drawdown_close                                 as leader_drawdown_close,
        l.drawdown_high                                  as leader_drawdown_high,
        {{ basis_column(leader_basis, 'record', 'l') }}  as leader_at_record,
        g.close                                          as laggard_close,
        g.drawdown_close                                 as laggard_drawdown_close,
        g.drawdown_high                                  as laggard_drawdown_high,
        {{ basis_column(leader_basis, 'drawdown', 'l') }}
            - {{ basis_column(laggard_basis, 'drawdown', 'g') }} as drawdown_gap,
        {{ basis_column(laggard_basis, 'drawdown', 'g') }}
            <= -{{ threshold }}                          as laggard_below_peak,
        g.symbol is not null                             as laggard_has_row
    from pairs as p
    inner join {{ ref('int_running_peaks') }} as l on l.symbol = p.leader
    left join {{ ref('int_running_peaks') }} as g on g.symbol = p.laggard and g.date = l.date
),

returns as (
    select
        *,
        case when laggard_has_row then leader_at_record and laggard_below_peak end
                                                                 as is_divergent,
        ln(leader_close / lag(leader_close) over by_pair)        as leader_log_return,
        ln(laggard_close / lag(laggard_close) over by_pair)      as laggard_log_return
    from aligned
    window by_pair as (partition by pair_id order by date)
)

select
    pair_id,
    leader,
    laggard,
    date,
    leader_session_number,
    leader_close,
    leader_drawdown_close,
    leader_drawdown_high,
    leader_at_record,
    laggard_close,
    laggard_drawdown_close,
    laggard_drawdown_high,
    drawdown_gap,
    laggard_below_peak,
    is_divergent,
    leader_log_return,
    laggard_log_return,
    case when count(leader_log_return + laggard_log_return) over last_30 = 30
        then corr(leader_log_return, laggard_log_return) over last_30 end as return_corr_30,
    case when count(leader_log_return + laggard_log_return) over last_90 = 90
        then corr(leader_log_return, laggard_log_return) over last_90 end as return_corr_90,
    max(case when is_divergent then date end) over earlier        as previous_divergent_date
from returns
window
    last_30 as (partition by pair_id order by date rows between 29 preceding and current row),
    last_90 as (partition by pair_id order by date rows between 89 preceding and current row),
    earlier as (partition by pair_id order by date
                rows between unbounded preceding and 1 preceding)
