{#- Models land in the schema they name (staging, intermediate, marts), not <target>_<schema>:
    analysts query marts.*, whatever the target. On PostgreSQL the marts are built in
    marts_build, which publishing renames to marts in one transaction once the build has passed
    its tests (orchestration/publish/postgres.py): analysts never see a half-built or failed
    build, as on DuckDB, where the whole file is renamed into place. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif target.type == 'postgres' and custom_schema_name | trim == 'marts' -%}marts_build
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
