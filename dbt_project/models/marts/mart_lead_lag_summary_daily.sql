-- mart_lead_lag_summary as known on each leader trading date of a pair: what the brief of that
-- day can state, with nothing from a later price. One row per pair and leader date (date,
-- from the first week on which a peak lag can be told):
--   the lead/lag reading over the pair's weekly returns up to the last week ending on or
--     before date (last_week_ending): at every lag, the correlation of the week pairs whose
--     later week ended by then (int_pair_weekly_lagged, an expanding window), its n and band;
--     the peak lag, the Fisher z against lag 0 and the reading by the rules of
--     mart_lead_lag_summary (macros fisher_z_against_lag0, is_distinguishable_from_lag0,
--     lead_lag_reading; the peak by is_strongest_lag, as mart_lead_lag's);
--   the trend: the share of the var('correlation_trend_days') days up to date on which
--     fct_divergence_daily's 30- and 90-session return correlations were positive.
-- On the pair's latest date with both instruments' data it equals mart_lead_lag_summary.
{%- set anchor = "cast('" ~ var('lead_lag_week_anchor') ~ "' as date)" %}
{%- set trend_days = var('correlation_trend_days') %}
with lagged as (
    select * from {{ ref('int_pair_weekly_lagged') }}
),

-- per pair, lag and week: the correlation of every week pair whose later week ended by then
to_date as (
    select
        pair_id,
        leader,
        laggard,
        lag_weeks,
        later_week_ending                                        as week_ending,
        cast(count(*) over so_far as integer)                    as n_weeks,
        -- null, not NaN, when either side is constant so far
        {{ weekly_return_corr('over so_far') }}                  as return_corr
    from lagged
    window so_far as (partition by pair_id, lag_weeks order by later_week_number
                      rows between unbounded preceding and current row)
),

ranked as (
    select
        *,
        {{ is_strongest_lag('pair_id, week_ending') }}           as is_peak
    from to_date
),

first_weeks as (
    select pair_id, min(leader_week_ending) as first_week_ending
    from lagged
    where lag_weeks = 0
    group by pair_id
),

compared as (
    select
        p.pair_id,
        p.leader,
        p.laggard,
        p.week_ending,
        p.lag_weeks                       as peak_lag_weeks,
        p.return_corr                     as peak_corr,
        p.n_weeks                         as peak_n_weeks,
        {{ correlation_band('p.n_weeks') }} as peak_band_95,
        abs(p.return_corr) > {{ correlation_band('p.n_weeks') }} as peak_is_outside_band,
        z.return_corr                     as lag0_corr,
        z.n_weeks                         as lag0_n_weeks,
        {{ correlation_band('z.n_weeks') }} as lag0_band_95,
        {{ fisher_z_against_lag0('p.lag_weeks', 'p.return_corr', 'p.n_weeks',
                                 'z.return_corr', 'z.n_weeks') }} as fisher_z
    from ranked as p
    inner join ranked as z
        on z.pair_id = p.pair_id and z.week_ending = p.week_ending and z.lag_weeks = 0
    where p.is_peak
),

-- every leader date with the last week ending on or before it, and the trend's year to it
days as (
    select
        pair_id,
        date,
        {{ add_days('date', '-(' ~ days_between(anchor, 'date') ~ ' % 7)') }} as week_ending,
        min(date) over last_year                                 as trend_first_date,
        cast(count(return_corr_30) over last_year as integer)    as n_corr_30_known,
        cast(sum(case when return_corr_30 > 0 then 1 else 0 end) over last_year as integer)
                                                                 as n_corr_30_positive,
        cast(count(return_corr_90) over last_year as integer)    as n_corr_90_known,
        cast(sum(case when return_corr_90 > 0 then 1 else 0 end) over last_year as integer)
                                                                 as n_corr_90_positive,
        return_corr_30                                           as latest_corr_30,
        return_corr_90                                           as latest_corr_90
    from (
        select *, {{ days_between(anchor, 'date') }} as day_number
        from {{ ref('fct_divergence_daily') }}
    ) as daily
    window last_year as (partition by pair_id order by day_number
                         range between {{ trend_days - 1 }} preceding and current row)
)

select
    c.pair_id,
    c.leader,
    c.laggard,
    d.date,
    f.first_week_ending,
    c.week_ending                                                     as last_week_ending,
    {{ lead_lag_peak_columns('c') }},
    c.lag0_band_95,
    d.trend_first_date,
    {{ correlation_trend_columns('d') }}
from days as d
inner join compared as c on c.pair_id = d.pair_id and c.week_ending = d.week_ending
inner join first_weeks as f on f.pair_id = d.pair_id
