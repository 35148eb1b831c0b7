{#- Every row (optionally only those matching `rows_where`) satisfies `expression`; a row
    where it is false or null fails. (Not `where`: that name is dbt's test config, which an
    incremental build's tests set to read only the rows from the changed date on.) -#}
{% test expression_is_true(model, expression, rows_where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
  {% if rows_where %} and ({{ rows_where }}) {% endif %}
{% endtest %}
