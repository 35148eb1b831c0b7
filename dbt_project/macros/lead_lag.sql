{#- The lead/lag marts' band and peak, written once (mart_lead_lag, mart_lead_lag_rolling). -#}

{#- Half the width of the 95 % band of a correlation over `n` pairs: the range in which two
    unrelated white-noise series' correlation falls 95 % of the time. -#}
{% macro correlation_band(n) -%}
    {{ var('lead_lag_band_z') }} / sqrt({{ n }})
{%- endmacro %}

{#- The weekly returns' correlation (columns leader_log_return, laggard_log_return) as an
    aggregate, or over the window `over` names ("over last_window"): null, not NaN, when
    either side is constant. -#}
{% macro weekly_return_corr(over='') -%}
    case when var_samp(leader_log_return) {{ over }} > 0
              and var_samp(laggard_log_return) {{ over }} > 0
        then corr(leader_log_return, laggard_log_return) {{ over }} end
{%- endmacro %}

{#- True on the row of the strongest lag of each `partition_by` group (columns return_corr,
    lag_weeks): the largest absolute correlation; a tie goes to the lag nearer 0, then to the
    negative one; never a row without a correlation. Correlations that agree to 12 decimals
    tie: over two weeks every |r| is 1 up to the last bit of a double, which differs between
    engines (and summation orders), and the tie rule, not that bit, must pick the lag. -#}
{% macro is_strongest_lag(partition_by) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by case when return_corr is null then 1 else 0 end,
                 round(abs(return_corr), 12) desc,
                 abs(lag_weeks), lag_weeks
    ) = 1 and return_corr is not null
{%- endmacro %}

{#- The peak lag against lag 0 (mart_lead_lag_summary, mart_lead_lag_summary_daily), written
    once: the Fisher z of the two absolute correlations,
    z = (atanh|r_peak| - atanh|r_0|) / sqrt(1/(n_peak - 3) + 1/(n_0 - 3)); null when the peak
    is lag 0 itself, either n is 3 or less, or either |r| is 1. -#}
{% macro fisher_z_against_lag0(peak_lag, peak_corr, peak_n, lag0_corr, lag0_n) -%}
    case when {{ peak_lag }} <> 0 and {{ peak_n }} > 3 and {{ lag0_n }} > 3
              and abs({{ peak_corr }}) < 1 and abs({{ lag0_corr }}) < 1
        then (0.5 * ln((1 + abs({{ peak_corr }})) / (1 - abs({{ peak_corr }})))
              - 0.5 * ln((1 + abs({{ lag0_corr }})) / (1 - abs({{ lag0_corr }}))))
             / sqrt(1.0 / ({{ peak_n }} - 3) + 1.0 / ({{ lag0_n }} - 3))
    end
{%- endmacro %}

{#- Whether the peak is distinguishable from lag 0: |z| > var('lead_lag_band_z') (two-sided
    5 %); false when the peak is lag 0; null when z cannot be computed. -#}
{% macro is_distinguishable_from_lag0(peak_lag, fisher_z) -%}
    case when {{ peak_lag }} = 0 then false
         when {{ fisher_z }} is not null then abs({{ fisher_z }}) > {{ var('lead_lag_band_z') }} end
{%- endmacro %}

{#- The reading in words, by fixed rules. -#}
{% macro lead_lag_reading(peak_lag, fisher_z) -%}
    case
        when {{ peak_lag }} = 0 then cast('moves with the leader (the peak is at lag 0)' as string)
        when {{ fisher_z }} is null then cast(null as string)
        when abs({{ fisher_z }}) <= {{ var('lead_lag_band_z') }}
            then cast('no lead or lag distinguishable from lag 0' as string)
        when {{ peak_lag }} > 0 then cast('moves after the leader' as string)
        else cast('moves before the leader' as string)
    end
{%- endmacro %}

{#- The comparison's name and assumptions, as the marts state them. -#}
{% macro lead_lag_comparison_texts() -%}
    {%- set z = var('lead_lag_band_z') -%}
    {{ return({
        'method': 'Fisher z comparison of |r| at the peak lag and at lag 0, two-sided: '
            ~ 'distinguishable when |z| > ' ~ (z | string) ~ ' (5 %)',
        'assumptions': 'weekly returns are serially independent and roughly normal; the two '
            ~ 'correlations are treated as independent estimates (they come from the same '
            ~ 'weeks, but for serially independent returns they are nearly uncorrelated); the '
            ~ 'peak is the largest of ' ~ (2 * var('lead_lag_max_lag_weeks') + 1) ~ ' lags, '
            ~ 'which makes the test lenient towards finding a lag',
    }) }}
{%- endmacro %}

{#- The summary's columns of a peak comparison (`alias`: columns peak_lag_weeks, peak_corr,
    peak_n_weeks, peak_band_95, peak_is_outside_band, lag0_corr, lag0_n_weeks, fisher_z),
    with the rule and the reading (mart_lead_lag_summary, mart_lead_lag_summary_daily). -#}
{% macro lead_lag_peak_columns(alias) -%}
    {%- for column in ['peak_lag_weeks', 'peak_corr', 'peak_n_weeks', 'peak_band_95',
                       'peak_is_outside_band', 'lag0_corr', 'lag0_n_weeks', 'fisher_z'] %}
    {{ alias }}.{{ column }},
    {%- endfor %}
    {{ is_distinguishable_from_lag0(alias ~ '.peak_lag_weeks', alias ~ '.fisher_z') }}
        as is_peak_distinguishable_from_lag0,
    {{ lead_lag_reading(alias ~ '.peak_lag_weeks', alias ~ '.fisher_z') }} as reading,
    cast('{{ lead_lag_comparison_texts().method }}' as string) as comparison_method
{%- endmacro %}

{#- The trend's columns (`alias`: columns n_corr_{30,90}_known, n_corr_{30,90}_positive,
    latest_corr_30, latest_corr_90): each count with its share of positive days. -#}
{% macro correlation_trend_columns(alias) -%}
    {%- for window in [30, 90] %}
    {{ alias }}.n_corr_{{ window }}_known,
    {{ alias }}.n_corr_{{ window }}_positive,
    case when {{ alias }}.n_corr_{{ window }}_known > 0
        then cast({{ alias }}.n_corr_{{ window }}_positive as double)
            / {{ alias }}.n_corr_{{ window }}_known end as share_corr_{{ window }}_positive,
    {%- endfor %}
    {{ alias }}.latest_corr_30,
    {{ alias }}.latest_corr_90
{%- endmacro %}
