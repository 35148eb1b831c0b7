-- How often the laggard beat the leader over N days from ANY day, not only after a
-- divergence: the base rates a divergence outcome (mart_divergence_outcome_summary) is read
-- against. Per pair, horizon and reference set of start days (fct_pair_forward_outcomes,
-- each flag as known that day):
--   all_days                 every day both instruments have data (the unconditional rate)
--   leader_record            those on which the leader set a record (its divergence basis):
--                            the condition without the laggard's drawdown
--   laggard_below_threshold  those on which the laggard was at least the divergence
--                            threshold below its record: the condition without the record
-- The statistics are the outcome summary's, by the same macro (outcome_statistics): n_known,
-- shares, medians over known outcomes, records known. Windows of start days fewer than N days apart
-- overlap, so n start days are not n independent trials: windows_overlap says whether any
-- do, n_non_overlapping_windows how many disjoint N-day windows the period holds.
{%- set record_basis = var('divergence_laggard_basis') %}
{%- set sets = outcome_reference_sets() %}
with outcomes as (
    select * from {{ ref('fct_pair_forward_outcomes') }}
),

in_sets as (
    {%- for name, set in sets.items() %}
    select cast('{{ name }}' as string) as reference_set, o.*
    from outcomes as o
    where {{ set.condition }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

known as (
    select
        *,
        laggard_beat is not null                     as is_known,
        laggard_days_to_record                       as days_to_record,
        window_end_date <= laggard_last_date         as laggard_window_stored
    from in_sets
),

-- the smallest distance between two consecutive known start days: windows overlap when it
-- is shorter than the horizon
gaps as (
    select
        pair_id,
        horizon_days,
        reference_set,
        min(gap_days) as min_gap_days
    from (
        select
            pair_id,
            horizon_days,
            reference_set,
            {{ days_between('lag(start_date) over (partition by pair_id, horizon_days, '
                            ~ 'reference_set order by start_date)', 'start_date') }} as gap_days
        from known
        where is_known
    ) as consecutive
    group by pair_id, horizon_days, reference_set
),

counted as (
    select
        pair_id,
        leader,
        laggard,
        horizon_days,
        reference_set,
        cast(count(*) as integer)                                    as n_start_days,
        -- the statistics of mart_divergence_outcome_summary, by the same macro
        {{ outcome_statistics() }},
        min(start_date)                                              as first_start_date,
        max(start_date)                                              as last_start_date,
        min(case when is_known then start_date end)                  as first_known_start_date,
        max(case when is_known then start_date end)                  as last_known_start_date
    from known
    group by pair_id, leader, laggard, horizon_days, reference_set
)

select
    pair_id,
    leader,
    laggard,
    horizon_days,
    reference_set,
    case reference_set
        {%- for name, set in sets.items() %}
        when '{{ name }}' then cast('{{ set.definition }}' as string)
        {%- endfor %}
    end                                                              as reference_set_definition,
    n_start_days,
    n_known,
    n_start_days - n_known                                           as n_unknown,
    n_laggard_beat,
    case when n_known > 0 then cast(n_laggard_beat as double) / n_known end
                                                                     as share_laggard_beat,
    median_laggard_return,
    median_leader_return,
    cast('{{ record_basis }}' as string)                            as record_basis,
    n_record_known,
    n_laggard_record,
    case when n_record_known > 0 then cast(n_laggard_record as double) / n_record_known end
                                                                     as share_laggard_record,
    first_start_date,
    last_start_date,
    first_known_start_date,
    last_known_start_date,
    case when n_known > 1 then g.min_gap_days < c.horizon_days
         when n_known = 1 then false end                             as windows_overlap,
    case when n_known > 0 then cast(floor(
        cast({{ days_between('first_known_start_date', 'last_known_start_date') }} as double)
        / c.horizon_days) as integer) + 1 end                        as n_non_overlapping_windows
from counted as c
left join gaps as g using (pair_id, horizon_days, reference_set)
