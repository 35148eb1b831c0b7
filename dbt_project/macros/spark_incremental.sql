-- Incremental models on Spark without Delta Lake (docs/spark.md, "Incrementals on Spark"):
-- plain Parquet tables have no DELETE or MERGE, so the models that recompute every row from
-- the first date whose inputs changed (fct_all_time_highs, fct_divergence_daily,
-- mart_daily_brief) overwrite whole year partitions instead (insert_overwrite, dynamic
-- partition overwrite). Such a model names its date column in `partition_year_of`; on Spark
-- its table gets a partition column `year` (the year of that date; not in its contract, and
-- not copied into DuckDB), and inputs_changed_from() gives it the first day of the changed
-- date's year, so it recomputes whole years: a change from D rewrites D's year onward.

-- the select of a contracted model's table (dbt's get_select_subquery, which orders the
-- columns by the contract), plus the partition column on a year-partitioned model
{% macro spark__get_select_subquery(sql) %}
    {%- set year_of = config.get('partition_year_of') %}
    select {{ adapter.dispatch('get_column_names', 'dbt')() }}
        {%- if year_of %}, year({{ year_of }}) as year{% endif %}
    from (
        {{ sql }}
    ) as model_subq
{%- endmacro %}

-- the table of a whole build (the first, or --full-refresh) of a year-partitioned model
-- without a contract (the brief's fact models): its select plus the partition column, then
-- dbt-spark's own statement (a contracted model gets it from spark__get_select_subquery)
{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- set year_of = config.get('partition_year_of') -%}
    {%- set contract = config.get('contract') -%}
    {%- if language == 'sql' and not temporary and year_of
          and not (contract and contract.enforced) -%}
        {%- set compiled_code = 'select *, year(' ~ year_of ~ ') as year from (\n'
                                ~ compiled_code ~ '\n) as model_subq' -%}
    {%- endif -%}
    {{ dbt.spark__create_table_as(temporary, relation, compiled_code, language) }}
{%- endmacro %}

-- the temporary view of an incremental build's new rows (dbt-spark's), with the partition
-- column too, so its columns are the table's (on_schema_change compares them)
{% macro spark__create_temporary_view(relation, compiled_code) -%}
    {%- set year_of = config.get('partition_year_of') %}
    create or replace temporary view {{ relation }} as
    {%- if year_of %}
    select *, year({{ year_of }}) as year from (
        {{ compiled_code }}
    ) as model_subq
    {%- else %}
    {{ compiled_code }}
    {%- endif %}
{%- endmacro %}

-- dbt-spark's insert_overwrite statement, staged: the model's new rows are written to a
-- table of their own first (the model may read the rows it keeps from its own table, and
-- Spark refuses to overwrite a table a query of the same statement reads), then the years
-- they cover replace the table's. Spark writes the new partitions to a staging directory
-- and moves them in when the job commits, so a failed build leaves the old years in place;
-- the warehouse's copy of a mart is only replaced after its build succeeded
-- (orchestration/lib/spark_marts.py).
{% macro get_insert_overwrite_sql(source_relation, target_relation, existing_relation) %}
    {%- set staging = target_relation.incorporate(
            path={"identifier": target_relation.identifier ~ "__dbt_staging"}) -%}
    {%- do run_query("drop table if exists " ~ staging) -%}
    {%- do run_query("create table " ~ staging ~ " using parquet as select * from "
                     ~ source_relation) -%}
    {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
    insert overwrite table {{ target_relation }}
    {{ partition_cols(label="partition") }}
    select {{ dest_columns | map(attribute='quoted') | join(', ') }} from {{ staging }}
{% endmacro %}

-- a post-hook on Spark: the staging table of a year-partitioned build is dropped (nothing
-- on a model without year partitions)
{% macro drop_year_staging() -%}
    {%- if config.get('partition_year_of') -%}
    drop table if exists {{ this.incorporate(path={"identifier": this.identifier ~ "__dbt_staging"}) }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
