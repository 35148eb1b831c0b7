-- dbt calls this for every data test with a `where` config. lockstep's own addition: a
-- `where` that names __inputs_changed_from__ checks, on an incremental build, only the rows
-- from the first date whose inputs changed (LOCKSTEP_INPUTS_CHANGED_FROM, set by the dbt
-- asset; docs/incremental.md); the rows before it did not change and passed the
-- test before. Without that date (a whole build, a plain `dbt build`) the test reads every
-- row. The date is read when the test runs, not when the project is parsed, so a new date
-- does not make dbt parse the project again.
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__inputs_changed_from__' in where -%}
        {%- set changed_from = env_var('LOCKSTEP_INPUTS_CHANGED_FROM', '') -%}
        {%- if not changed_from -%}
            {%- do return(relation) -%}
        {%- endif -%}
        {%- set where = where | replace('__inputs_changed_from__',
                                        "cast('" ~ changed_from ~ "' as date)") -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") as dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
