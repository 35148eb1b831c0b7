-- The Spark engine's sources (docs/spark.md): the raw tables live in the DuckDB warehouse,
-- where ingestion writes them, and the dbt step exports them to Parquet under
-- $LOCKSTEP_SPARK_DIR/raw before a Spark build (orchestration/lib/spark_raw.py). This
-- on-run-start hook names each export as a view raw.<table>, so the sources (schema raw)
-- read the same names on both engines. A view over a Parquet directory lists its files when
-- a query reads it, so a partition the export swapped in is seen by the next build.
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'lockstep')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- set root = env_var('LOCKSTEP_SPARK_DIR', '../.lockstep/spark') ~ '/raw' -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for table in ['market_prices', 'fred_observations', 'trading_sessions', 'instruments',
                      'fred_series', 'quarantined_rows'] -%}
        {%- do run_query('create or replace view raw.' ~ table ~ ' as select * from parquet.`'
                         ~ root ~ '/' ~ table ~ '`') -%}
    {%- endfor -%}
{%- endmacro %}
