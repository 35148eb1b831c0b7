-- The brief's lead and lag: every pair, every day (brief_date) from its first readable week,
-- does the laggard lead or lag the leader, from the weekly returns up to the last week
-- ending by the reading's date (as_of_date), and the share of the last
-- var('correlation_trend_days') days with a positive daily-return correlation
-- (mart_lead_lag_summary_daily). The reading's date is the last leader date on or before the
-- day on which the laggard had a price too (both_as_of_date): the leader's latest date
-- (int_brief_divergence's as_of_date) while both deliver; when one member's data stops, the
-- last date both had data, so the fact stays in the brief with that date (is_stale, and
-- days_since_as_of from it) instead of vanishing. Grain: (brief_date, pair_id).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with both_days as (
    -- per pair and leader date: the last leader date up to it with a laggard close that day
    select
        pair_id,
        date,
        max(case when laggard_close is not null then date end) over (
            partition by pair_id order by date
            rows between unbounded preceding and current row
        ) as both_as_of_date
    from {{ ref('fct_divergence_daily') }}
)

select
    s.brief_date,
    s.pair_id,
    s.leader,
    s.laggard,
    s.pair_rank,
    s.leader_name,
    s.laggard_name,
    s.pair_name,
    l.date                                                  as as_of_date,
    {{ days_between('l.date', 's.brief_date') }}            as days_since_as_of,
    l.date < s.as_of_date                                   as is_stale,
    l.first_week_ending,
    l.last_week_ending,
    {{ var('lead_lag_max_lag_weeks') }}                     as max_lag_weeks,
    l.peak_lag_weeks,
    l.peak_corr,
    l.peak_n_weeks,
    l.peak_band_95,
    l.lag0_corr,
    l.lag0_n_weeks,
    l.fisher_z,
    l.is_peak_distinguishable_from_lag0,
    l.reading                                               as lead_lag_reading,
    l.comparison_method                                     as test_method,
    {{ var('correlation_trend_days') }}                     as trend_days,
    l.trend_first_date,
    l.n_corr_30_known,
    l.share_corr_30_positive,
    l.n_corr_90_known,
    l.share_corr_90_positive
from {{ ref('int_brief_divergence') }} as s
inner join both_days as b
    on b.pair_id = s.pair_id and b.date = s.as_of_date
inner join {{ ref('mart_lead_lag_summary_daily') }} as l
    on l.pair_id = s.pair_id and l.date = b.both_as_of_date
{{ from_the_changed_date('s.brief_date') }}
