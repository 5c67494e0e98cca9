{#- Who may read what: part of every build (on-run-start and on-run-end).

    On PostgreSQL the build writes with its own role, and the analysts' role (CFA_ANALYST_ROLE,
    default cfa_analyst) reads the marts schema and nothing else: not raw (pseudonymised but
    row-level, with every version), not ops (file names, rejected values), not staging,
    intermediate, reference or test_failures. Tables the build creates in marts are readable at
    once through the build role's default privileges, so a rebuilt mart is never unreadable
    mid-run; any other grant on the build's own schemas, made by hand, is taken back.

    DuckDB has no roles: its analysts read the published file, which publishing copies whole
    (orchestration/publish/), so there is nothing to grant. -#}
{% macro grant_analyst_access() -%}
    {{ return(adapter.dispatch('grant_analyst_access')()) }}
{%- endmacro %}

{% macro default__grant_analyst_access() -%}
{%- endmacro %}

{% macro postgres__grant_analyst_access() -%}
    {%- set analysts = adapter.quote(env_var('CFA_ANALYST_ROLE', 'cfa_analyst')) -%}
    create schema if not exists marts;
    grant usage on schema marts to {{ analysts }};
    grant select on all tables in schema marts to {{ analysts }};
    alter default privileges in schema marts grant select on tables to {{ analysts }};
    do $grants$
    declare
        other_schema text;
    begin
        for other_schema in
            select nspname from pg_namespace
            where nspowner = current_user::regrole and nspname <> 'marts' and nspname not like 'pg\_%'
        loop
            execute format('revoke all on schema %I from public, %s', other_schema, {{ dbt.string_literal(analysts) }});
            execute format('revoke all on all tables in schema %I from public, %s', other_schema, {{ dbt.string_literal(analysts) }});
        end loop;
    end
    $grants$;
{%- endmacro %}
