{#- The lead/lag marts' band and peak, written once (mart_lead_lag, mart_lead_lag_rolling). -#}

{#- Half the width of the 95 % band of a correlation over `n` pairs: the range in which two
    unrelated white-noise series' correlation falls 95 % of the time. -#}
{% macro correlation_band(n) -%}
    {{ var('lead_lag_band_z') }} / sqrt({{ n }})
{%- endmacro %}

{#- True on the row of the strongest lag of each `partition_by` group (columns return_corr,
    lag_weeks): the largest absolute correlation; a tie goes to the lag nearer 0, then to the
    negative one; never a row without a correlation. -#}
{% macro is_strongest_lag(partition_by) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by case when return_corr is null then 1 else 0 end, abs(return_corr) desc,
                 abs(lag_weeks), lag_weeks
    ) = 1 and return_corr is not null
{%- endmacro %}
