{#- Every row (optionally only those matching `where`) satisfies `expression`; a row where
    it is false or null fails. -#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
  {% if where %} and ({{ where }}) {% endif %}
{% endtest %}
