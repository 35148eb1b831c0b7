{#- SQL that DuckDB and Spark write differently (docs/spark.md, "What differs"), one macro
    per construct, dispatched on the adapter (duckdb__ / spark__). Each duckdb__ version is
    the SQL the models had before they ran on Spark, so the DuckDB build is unchanged. What
    dbt's own cross-database macros cover (dbt.dateadd, dbt.datediff, dbt.generate_series,
    dbt.type_string) is used directly; dbt.listagg is not, because on Spark it drops its
    ordering. -#}

{#- A select item that yields one row per calendar day from `first_date` to `last_date`
    (both included) as a DATE: the day spine. The select it sits in may aggregate. -#}
{% macro day_spine(first_date, last_date) -%}
    {{ return(adapter.dispatch('day_spine', 'lockstep')(first_date, last_date)) }}
{%- endmacro %}

{% macro duckdb__day_spine(first_date, last_date) -%}
    cast(unnest(generate_series(
        cast({{ first_date }} as timestamp), cast({{ last_date }} as timestamp), interval 1 day
    )) as date)
{%- endmacro %}

{#- Spark's sequence fails when the first is after the last (DuckDB's generate_series is
    empty then: a daily run with no new input asks for the days after the last one); the
    explode of a null array is no rows -#}
{% macro spark__day_spine(first_date, last_date) -%}
    explode(case when cast({{ first_date }} as date) <= cast({{ last_date }} as date)
        then sequence(cast({{ first_date }} as date), cast({{ last_date }} as date),
                      interval 1 day) end)
{%- endmacro %}

{#- A select item that yields one row per integer from `first` to `last` (both included),
    as an INTEGER. -#}
{% macro integer_series(first, last) -%}
    {{ return(adapter.dispatch('integer_series', 'lockstep')(first, last)) }}
{%- endmacro %}

{% macro duckdb__integer_series(first, last) -%}
    cast(unnest(generate_series({{ first }}, {{ last }})) as integer)
{%- endmacro %}

{% macro spark__integer_series(first, last) -%}
    explode(case when {{ first }} <= {{ last }}
        then sequence(cast({{ first }} as integer), cast({{ last }} as integer)) end)
{%- endmacro %}

{#- The last non-null value of `expr` over the window that follows the macro (carry a value
    forward): `{{ last_non_null('x') }} over (...)`. -#}
{% macro last_non_null(expr) -%}
    {{ return(adapter.dispatch('last_non_null', 'lockstep')(expr)) }}
{%- endmacro %}

{% macro duckdb__last_non_null(expr) -%}
    last_value({{ expr }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(expr) -%}
    last_value({{ expr }}, true)
{%- endmacro %}

{#- Calendar days from the DATE `first_date` to the DATE `second_date`, a BIGINT (negative
    when the second is earlier): DuckDB's date - date; on Spark date - date is an
    interval. -#}
{% macro day_count(first_date, second_date) -%}
    {{ return(adapter.dispatch('day_count', 'lockstep')(first_date, second_date)) }}
{%- endmacro %}

{% macro duckdb__day_count(first_date, second_date) -%}
    {{ second_date }} - {{ first_date }}
{%- endmacro %}

{% macro spark__day_count(first_date, second_date) -%}
    cast(datediff({{ second_date }}, {{ first_date }}) as bigint)
{%- endmacro %}

{#- The day of the week of a DATE, 0 = Sunday .. 6 = Saturday, on every engine. DuckDB's
    dayofweek counts so; Spark's counts 1 = Sunday .. 7 = Saturday, so `dayofweek(d) = 3`
    selects Wednesdays on one and Tuesdays on the other without an error. -#}
{% macro day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('day_of_week', 'lockstep')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__day_of_week(date_expr) -%}
    dayofweek({{ date_expr }})
{%- endmacro %}

{% macro spark__day_of_week(date_expr) -%}
    (dayofweek({{ date_expr }}) - 1)
{%- endmacro %}

{#- The non-null values of `expr` joined by `separator`, ordered by the columns of
    `order_by` (a list of expressions, ascending). -#}
{% macro ordered_string_agg(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'lockstep')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro duckdb__ordered_string_agg(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}' order by {{ order_by | join(', ') }})
{%- endmacro %}

{#- Spark: collect (order keys..., value) structs, sort them (a struct sorts by its fields in
    order), keep the values -#}
{% macro spark__ordered_string_agg(expr, separator, order_by) -%}
    case when count({{ expr }}) > 0 then array_join(transform(
        sort_array(collect_list(case when {{ expr }} is not null then named_struct(
            {%- for o in order_by %}'k{{ loop.index }}', {{ o }}, {% endfor -%}
            'v', {{ expr }}) end)),
        s -> s.v), '{{ separator }}') end
{%- endmacro %}
