{#- Use the folder's schema as is (staging, intermediate, marts), not "<target>_<schema>":
    BI and SQL users rely on the names marts.* and raw.*. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
