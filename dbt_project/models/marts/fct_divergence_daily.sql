{{ config(
    materialized="incremental",
    incremental_strategy=strategy_from_the_changed_date(),
    partition_by=partitions_from_the_changed_date(),
    partition_year_of="date",
    on_schema_change="fail",
    pre_hook="{{ delete_from_the_changed_date('date') }}",
    post_hook=["{{ record_rewritten_rows() }}"],
) }}
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
--
-- Incremental (docs/incremental.md), like the brief: a build told the first date
-- whose inputs changed (LOCKSTEP_INPUTS_CHANGED_FROM) deletes the rows from that date on
-- (pre-hook) and writes them again. A row depends on the pair's rows up to it: the 30- and
-- 90-row correlations on the 90 rows before it (and the close before those, for the first
-- return), the previous divergent date on every earlier row. So per pair the build reads
-- the leader's rows from the 90th stored row before the date on (window_start), computes
-- them as a whole build would, and takes the previous divergent date before window_start
-- from the stored row there. A full build, or an incremental one not told the date,
-- computes every row.
{%- set leader_basis = var('divergence_leader_basis') %}
{%- set laggard_basis = var('divergence_laggard_basis') %}
{%- set threshold = var('divergence_laggard_min_drawdown') %}
{%- set from_date = inputs_changed_from() %}
{#- the longest window (return_corr_90): an incremental build reads this many rows back #}
{%- set longest_window = 90 %}
with pairs as (
    {{ divergence_pairs_cte() }}
),

-- the pairs' instruments, named in the filter: joined with the pairs alone, DuckDB sometimes
-- hashes all of int_running_peaks (after an incremental build appended to it)
pair_rows as (
    select *
    from {{ ref('int_running_peaks') }}
    where symbol in ({{ divergence_pair_symbols() }})
),
{%- if from_date %}

-- per pair, the first stored row the recomputed ones need: the 90th row before the date
-- (the first row when there are fewer), with the previous divergent date before it
before_change as (
    select
        pair_id,
        date,
        previous_divergent_date,
        row_number() over (partition by pair_id order by date desc) as rows_back,
        count(*) over (partition by pair_id)                        as rows_before
    from {{ this }}
    where date < cast('{{ from_date }}' as date)
),

window_start as (
    select
        pair_id,
        date                       as start_date,
        previous_divergent_date    as carried_previous_divergent_date
    from before_change
    where rows_back = case when rows_before < {{ longest_window }} then rows_before
                           else {{ longest_window }} end
),
{%- endif %}

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
        g.symbol is not null                             as laggard_has_row,
        {%- if from_date %}
        w.carried_previous_divergent_date
        {%- else %}
        cast(null as date)                               as carried_previous_divergent_date
        {%- endif %}
    from pairs as p
    inner join pair_rows as l on l.symbol = p.leader
    left join pair_rows as g on g.symbol = p.laggard and g.date = l.date
    {%- if from_date %}
    left join window_start as w on w.pair_id = p.pair_id
    where w.start_date is null or l.date >= w.start_date
    {%- endif %}
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
),

computed as (
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
        case when count(leader_log_return + laggard_log_return) over last_90 = {{ longest_window }}
            then corr(leader_log_return, laggard_log_return) over last_90 end as return_corr_90,
        coalesce(max(case when is_divergent then date end) over earlier,
                 carried_previous_divergent_date)                     as previous_divergent_date
    from returns
    window
        last_30 as (partition by pair_id order by date rows between 29 preceding and current row),
        last_90 as (partition by pair_id order by date
                    rows between {{ longest_window - 1 }} preceding and current row),
        earlier as (partition by pair_id order by date
                    rows between unbounded preceding and 1 preceding)
)

select *
from computed
{%- if from_date %}
-- the rows from the changed date on (after the windows: they read the rows before it)
where date >= cast('{{ from_date }}' as date)
{%- endif %}
