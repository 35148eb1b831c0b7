-- The Spark engine's sources (docs/spark.md): the raw tables live in the DuckDB warehouse,
-- where ingestion writes them, and the dbt step exports them to Parquet under
-- $LOCKSTEP_SPARK_DIR/raw before a Spark build (orchestration/lib/spark_raw.py). The
-- staging models' pre-hook names the export of each source they read as a view
-- raw.<table>, so the sources (schema raw) read the same names on both engines. A view over
-- a Parquet directory lists its files when a query reads it, so a partition the export
-- swapped in is seen by the next build. (A pre-hook, not an on-run-start hook: that would
-- add an operation to every build's results on DuckDB too.)
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'lockstep')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
    {%- set root = env_var('LOCKSTEP_SPARK_DIR', '../.lockstep/spark') ~ '/raw' -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for source_name, table_name in model.sources -%}
        {%- set relation = source(source_name, table_name) -%}
        {%- do run_query('create or replace view ' ~ relation ~ ' as select * from parquet.`'
                         ~ root ~ '/' ~ relation.identifier ~ '`') -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
