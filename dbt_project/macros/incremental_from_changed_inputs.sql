-- The pre-hooks and helpers of the models that recompute from the first date whose inputs
-- changed (LOCKSTEP_INPUTS_CHANGED_FROM; docs/incremental.md).

-- The materialization of the incremental models that compare their input with what they
-- stored (int_running_peaks, fct_drawdown_episodes): incremental on DuckDB; on Spark a
-- table built whole on every build (their changed rows do not fill whole year partitions,
-- and Parquet tables cannot delete rows), so their hooks are no-ops there.
{% macro incremental_on_duckdb() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

-- a post-hook: the stored rows of a symbol taken out of the catalog are deleted (Spark:
-- nothing to do, the table was built whole from the catalog's symbols)
{% macro forget_dropped_symbols() -%}
    {{ return(adapter.dispatch('forget_dropped_symbols', 'lockstep')()) }}
{%- endmacro %}

{% macro default__forget_dropped_symbols() -%}
    delete from {{ this }} where symbol not in (select symbol from {{ ref('stg_instruments') }})
{%- endmacro %}

{% macro spark__forget_dropped_symbols() -%}
    select 1
{%- endmacro %}

-- the first date whose inputs changed, as the dbt asset passes it ('YYYY-MM-DD'); '' on a
-- full build, or an incremental one that was not told the date (then every row is computed)
{% macro inputs_changed_from() -%}
    {%- set changed = env_var('LOCKSTEP_INPUTS_CHANGED_FROM', '') if is_incremental() else '' -%}
    {%- if changed and config.get('partition_year_of') and target.type == 'spark' -%}
        {#- Spark overwrites whole years (macros/spark_incremental.sql) -#}
        {%- set changed = changed[:4] ~ '-01-01' -%}
    {%- endif -%}
    {{ return(changed) }}
{%- endmacro %}

-- how a model that recomputes from the changed date is built: incremental on both engines;
-- on DuckDB appending after its pre-hook deleted the rows from that date, on Spark by
-- overwriting the year partitions from that date's year (macros/spark_incremental.sql)
{% macro strategy_from_the_changed_date() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'append') }}
{%- endmacro %}

{% macro partitions_from_the_changed_date() -%}
    {{ return(['year'] if target.type == 'spark' else none) }}
{%- endmacro %}

-- fct_drawdown_episodes, incremental: per symbol with rows on or after `from_date`, the
-- peak its episodes are recomputed from (restart_peak: the close-basis peak of its last row
-- before from_date; null when it has none, so it is recomputed whole).
{% macro drawdown_episodes_restart(from_date) -%}
    select
        c.symbol,
        p.peak_close_date as restart_peak
    from (
        select
            symbol,
            max(case when date < cast('{{ from_date }}' as date) then date end) as last_kept
        from {{ ref('int_running_peaks') }}
        group by symbol
        having max(date) >= cast('{{ from_date }}' as date)
    ) as c
    left join {{ ref('int_running_peaks') }} as p
        on p.symbol = c.symbol and p.date = c.last_kept
{%- endmacro %}

-- its pre-hook: the stored episodes the build recomputes (from each restart peak on; all
-- of them when the build is incremental but was not told where the inputs changed)
{% macro drawdown_episodes_forget_from_the_restart() -%}
    {%- if not is_incremental() -%}
    select 1
    {%- elif env_var('LOCKSTEP_INPUTS_CHANGED_FROM', '') -%}
    delete from {{ this }} as e
    where exists (
        select 1
        from ({{ drawdown_episodes_restart(env_var('LOCKSTEP_INPUTS_CHANGED_FROM')) }}) as r
        where r.symbol = e.symbol and (r.restart_peak is null or e.peak_date >= r.restart_peak)
    )
    {%- else -%}
    delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

-- an incremental model's pre-hook that recomputes everything on or after the first date
-- whose inputs changed (mart_daily_brief): deletes those rows by `column`; all rows when
-- the build is incremental but was not told the date. Runs in the model's transaction, so
-- a failed build deletes nothing.
{% macro delete_from_the_changed_date(column) -%}
    {%- if not is_incremental() or target.type == 'spark' -%}
    select 1
    {%- elif env_var('LOCKSTEP_INPUTS_CHANGED_FROM', '') -%}
    delete from {{ this }}
    where {{ column }} >= cast('{{ env_var('LOCKSTEP_INPUTS_CHANGED_FROM') }}' as date)
    {%- else -%}
    delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

-- its post-hook: a record of which rows the build rewrote, in ops.mart_rewrites, for the
-- publish step (orchestration/lib/publish.py), which then hashes only those rows to find
-- what changed: the rows on or after rewritten_from, or every row (null) on a full build
-- or an incremental build that was not told the date. Runs in the model's transaction, so
-- a failed build records nothing; a build by hand records what it did too. `rewritten_from`
-- (SQL) replaces the model's own changed date (a view's record, below).
{% macro record_rewritten_rows(rewritten_from=none) -%}
    {{ return(adapter.dispatch('record_rewritten_rows', 'lockstep')(rewritten_from)) }}
{%- endmacro %}

-- Spark: the publish step hashes every row of a mart copied from there, so there is
-- nothing to record; the staging table of a year-partitioned build is dropped
{% macro spark__record_rewritten_rows(rewritten_from=none) -%}
    {{ drop_year_staging() }}
{%- endmacro %}

{% macro default__record_rewritten_rows(rewritten_from=none) -%}
    {%- set from_date = inputs_changed_from() -%}
    create schema if not exists ops;
    create table if not exists ops.mart_rewrites (
        id             bigint    primary key,
        mart           varchar   not null,
        rewritten_at   timestamp not null,
        rewritten_from date,
        invocation_id  varchar
    );
    insert into ops.mart_rewrites (id, mart, rewritten_at, rewritten_from, invocation_id)
    select
        coalesce(max(id), 0) + 1,
        '{{ this.identifier }}',
        cast(now() as timestamp),
        {%- if rewritten_from %}
        {{ rewritten_from }},
        {%- else %}
        {{ "cast('" ~ from_date ~ "' as date)" if from_date else "null" }},
        {%- endif %}
        '{{ invocation_id }}'
    from ops.mart_rewrites
{%- endmacro %}

-- the post-hook of a view whose rows are `upstream`'s, row for row (fct_drawdowns_daily over
-- int_running_peaks): its rows changed where upstream's did, so it records the date
-- upstream recorded in this same dbt invocation; every row (null) when upstream was not
-- built in it (the view alone, by hand: its SQL may have changed) or rewrote every row.
{% macro record_rewritten_rows_of_view(upstream) -%}
    {{ record_rewritten_rows(
        "(select case when count(*) > 0 and count(rewritten_from) = count(*) then "
        ~ "min(rewritten_from) end from ops.mart_rewrites where mart = '" ~ upstream
        ~ "' and invocation_id = '" ~ invocation_id ~ "')") }}
{%- endmacro %}
