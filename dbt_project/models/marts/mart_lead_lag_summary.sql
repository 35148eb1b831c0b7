-- Per pair, the answer of mart_lead_lag and the trend of the daily-return correlations:
--   the peak lag (largest absolute weekly-return correlation over the whole common history)
--   and whether its strength is distinguishable from lag 0's: a Fisher z comparison,
--     z = (atanh|r_peak| - atanh|r_0|) / sqrt(1/(n_peak - 3) + 1/(n_0 - 3)),
--   distinguishable when |z| > var('lead_lag_band_z') (two-sided 5 %). Null z when the peak
--   is lag 0 itself. The reading (reading) follows from those by fixed rules.
--   the share of the last var('correlation_trend_days') days (up to the pair's latest date
--   on which both instruments have a close) on which fct_divergence_daily's 30- and
--   90-session return correlations were positive, each with its n (days it was defined).
{%- set trend_days = var('correlation_trend_days') %}
{%- set texts = lead_lag_comparison_texts() %}
with lead_lag as (
    select * from {{ ref('mart_lead_lag') }}
),

peak as (
    select * from lead_lag where is_peak
),

lag0 as (
    select * from lead_lag where lag_weeks = 0
),

compared as (
    select
        p.pair_id,
        p.leader,
        p.laggard,
        p.lag_weeks                       as peak_lag_weeks,
        p.return_corr                     as peak_corr,
        p.n_weeks                         as peak_n_weeks,
        p.band_95                         as peak_band_95,
        p.is_outside_band                 as peak_is_outside_band,
        z.return_corr                     as lag0_corr,
        z.n_weeks                         as lag0_n_weeks,
        z.first_leader_week_ending        as first_week_ending,
        z.last_leader_week_ending         as last_week_ending,
        {{ fisher_z_against_lag0('p.lag_weeks', 'p.return_corr', 'p.n_weeks',
                                 'z.return_corr', 'z.n_weeks') }} as fisher_z
    from peak as p
    inner join lag0 as z on z.pair_id = p.pair_id
),

latest as (
    select pair_id, max(date) as latest_date
    from {{ ref('fct_divergence_daily') }}
    where laggard_close is not null
    group by pair_id
),

trend as (
    select
        d.pair_id,
        l.latest_date,
        min(d.date)                                                   as trend_first_date,
        cast(count(d.return_corr_30) as integer)                      as n_corr_30_known,
        cast(sum(case when d.return_corr_30 > 0 then 1 else 0 end) as integer)
                                                                      as n_corr_30_positive,
        cast(count(d.return_corr_90) as integer)                      as n_corr_90_known,
        cast(sum(case when d.return_corr_90 > 0 then 1 else 0 end) as integer)
                                                                      as n_corr_90_positive,
        max(case when d.date = l.latest_date then d.return_corr_30 end) as latest_corr_30,
        max(case when d.date = l.latest_date then d.return_corr_90 end) as latest_corr_90
    from {{ ref('fct_divergence_daily') }} as d
    inner join latest as l
        on l.pair_id = d.pair_id
        and d.date > {{ add_days('l.latest_date', -trend_days) }} and d.date <= l.latest_date
    group by d.pair_id, l.latest_date
)

select
    c.pair_id,
    c.leader,
    c.laggard,
    c.first_week_ending,
    c.last_week_ending,
    {{ lead_lag_peak_columns('c') }},
    cast('{{ texts.assumptions }}' as string)                        as comparison_assumptions,
    t.latest_date                                                     as trend_last_date,
    t.trend_first_date,
    {{ correlation_trend_columns('t') }}
from compared as c
left join trend as t on t.pair_id = c.pair_id
