-- Does the laggard lead or lag the leader? Per pair and lag: the Pearson correlation of the
-- leader's weekly log return with the laggard's lag_weeks weeks later, over the pair's whole
-- common history (int_pair_weekly_lagged; weeks: int_pair_weekly_returns). Sign convention:
-- positive lag_weeks = the laggard moves AFTER the leader, negative = before. n_weeks is the
-- number of week pairs; the band +/- var('lead_lag_band_z') / sqrt(n_weeks) is where 95 % of
-- the correlations of two unrelated white-noise series would fall (is_outside_band). is_peak
-- marks the lag with the largest absolute correlation (ties: the lag nearer 0, then the
-- negative one); mart_lead_lag_summary says whether it is distinguishable from lag 0.
with lagged as (
    select * from {{ ref('int_pair_weekly_lagged') }}
),

correlated as (
    select
        pair_id,
        leader,
        laggard,
        lag_weeks,
        cast(count(*) as integer)                         as n_weeks,
        -- null, not NaN, when either side is constant
        {{ weekly_return_corr() }}                        as return_corr,
        min(leader_week_ending)                           as first_leader_week_ending,
        max(leader_week_ending)                           as last_leader_week_ending
    from lagged
    group by pair_id, leader, laggard, lag_weeks
)

select
    pair_id,
    leader,
    laggard,
    lag_weeks,
    n_weeks,
    return_corr,
    {{ correlation_band('n_weeks') }}                     as band_95,
    abs(return_corr) > {{ correlation_band('n_weeks') }}  as is_outside_band,
    first_leader_week_ending,
    last_leader_week_ending,
    {{ is_strongest_lag('pair_id') }}                     as is_peak
from correlated
