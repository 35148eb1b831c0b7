{#- Calendar-day arithmetic on DATE values through dbt's cross-database macros, so a model
    runs unchanged on another engine (Spark through dbt-spark is the planned next one).
    dbt.dateadd returns a timestamp on DuckDB; these keep DATE in and DATE out. -#}

{#- The date `days` calendar days after `date_expr` (before, when negative). -#}
{% macro add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{#- Calendar days from `first_date` to `second_date` (negative when second is earlier). -#}
{% macro days_between(first_date, second_date) -%}
    cast({{ dbt.datediff(first_date, second_date, 'day') }} as integer)
{%- endmacro %}
