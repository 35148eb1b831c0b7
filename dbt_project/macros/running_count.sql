{#- How many rows so far (this one included) satisfy `condition`, per partition, in order:
    the running counter that numbers sessions, record groups, episodes and clusters. -#}
{% macro running_count(condition, partition_by, order_by) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and current row
    ) as integer)
{%- endmacro %}
