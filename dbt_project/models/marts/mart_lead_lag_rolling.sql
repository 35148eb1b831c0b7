-- mart_lead_lag over rolling windows of var('lead_lag_window_weeks') weeks: per pair, window
-- and lag, the correlation of the weekly returns whose two weeks both lie in the window
-- (window_start_week .. window_end_week). A window of W weeks holds W - |lag| week pairs;
-- only full windows are kept. Same sign convention (positive lag: the laggard moves after
-- the leader) and band (+/- var('lead_lag_band_z') / sqrt(n_weeks)). is_window_peak marks
-- the lag with the largest absolute correlation in the window.
{%- set max_lag = var('lead_lag_max_lag_weeks') %}
{%- set window = var('lead_lag_window_weeks') %}
with lagged as (
    select * from {{ ref('int_pair_weekly_lagged') }}
),

rolling as (
    {%- for k in range(-max_lag, max_lag + 1) %}
    {%- set rows_back = window - 1 - (k | abs) %}
    select
        pair_id,
        leader,
        laggard,
        lag_weeks,
        later_week_ending                                        as window_end_week,
        cast(count(*) over last_window as integer)               as n_weeks,
        -- null, not NaN, when either side is constant in the window
        {{ weekly_return_corr('over last_window') }}             as return_corr
    from lagged
    where lag_weeks = {{ k }}
    window last_window as (partition by pair_id order by later_week_number
                           rows between {{ rows_back }} preceding and current row)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

full_windows as (
    select *
    from rolling
    where n_weeks = {{ window }} - abs(lag_weeks)
)

select
    pair_id,
    leader,
    laggard,
    {{ add_days('window_end_week', -7 * (window - 1)) }}     as window_start_week,
    window_end_week,
    lag_weeks,
    n_weeks,
    return_corr,
    {{ correlation_band('n_weeks') }}                         as band_95,
    abs(return_corr) > {{ correlation_band('n_weeks') }}      as is_outside_band,
    {{ is_strongest_lag('pair_id, window_end_week') }}        as is_window_peak
from full_windows
