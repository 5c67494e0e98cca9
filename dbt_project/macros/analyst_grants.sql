{#- Who may read what: part of every build (on-run-start and on-run-end).

    On PostgreSQL the build writes with its own role, and the analysts' role (CFA_ANALYST_ROLE,
    default cfa_analyst) reads the marts schema and nothing else: not raw (pseudonymised but
    row-level, with every version), not ops (file names, rejected values), not staging,
    intermediate, reference or test_failures. The build makes its marts in marts_build, every
    table there readable by the analysts' role from the moment it is made (the build role's
    default privileges), but the schema itself is not: publishing renames it to marts and
    grants the schema in one transaction (orchestration/publish/postgres.py). Any other grant on
    the build's own schemas, made by hand, is taken back.

    DuckDB has no roles: its analysts read the published file, which publishing copies whole
    (orchestration/publish/), so there is nothing to grant. -#}
{% macro grant_analyst_access() -%}
    {{ return(adapter.dispatch('grant_analyst_access')()) }}
{%- endmacro %}

{% macro default__grant_analyst_access() -%}
{%- endmacro %}

{% macro postgres__grant_analyst_access() -%}
    {%- set analysts = adapter.quote(env_var('CFA_ANALYST_ROLE', 'cfa_analyst')) -%}
    {%- set marts_build = generate_schema_name('marts', none) -%}
    create schema if not exists {{ marts_build }};
    alter default privileges in schema {{ marts_build }} grant select on tables to {{ analysts }};
    grant select on all tables in schema {{ marts_build }} to {{ analysts }};
    do $grants$
    declare
        other_schema text;
    begin
        for other_schema in
            select nspname from pg_namespace
            where nspowner = current_user::regrole and nspname <> 'marts' and nspname not like 'pg\_%'
        loop
            execute format('revoke all on schema %I from public, %s', other_schema, {{ dbt.string_literal(analysts) }});
            if other_schema <> '{{ marts_build }}' then
                execute format('revoke all on all tables in schema %I from public, %s', other_schema, {{ dbt.string_literal(analysts) }});
            end if;
        end loop;
    end
    $grants$;
{%- endmacro %}
