{#- Building council by council. A council's figures depend on its own rows alone (keys, versions,
    full extracts and the date its figures are as at are all per council), so a night that
    brings one council's month need not rebuild the other councils' history.

    The nightly job (orchestration/council_build.py) compares each council's raw rows and loads
    with those of the last successful build and passes the councils that changed as the variable
    `councils_to_build`. Then:
    - the staging views hold only those councils' rows (in_councils_to_build), and keep that
      filter in the build database until the next build (query raw, or the marts, to see every
      council);
    - each model configured council_by_council in dbt_project.yml deletes those councils' rows
      (delete_councils_to_build) and appends them rebuilt, reading its per-council parents for
      those councils only (in_councils_rebuilt);
    - every other model (dimensions, benchmarks, the councils' dates) is rebuilt whole.
    With the variable null the job builds every council (with --full-refresh); without it, a
    hand-run `dbt build` deletes and rebuilds every council, and forgets the job's record
    (forget_councils_built). On PostgreSQL the per-council models are plain tables. The job builds every council while
    any row names no council or can move a record between two (a flat v1 audit, activity,
    sub-grade or action: macros/councils.sql). -#}

{#- True for the rows of the councils being built: all of them without the variable, and in a
    unit test, whose given rows are the whole of its inputs. -#}
{% macro in_councils_to_build(council) -%}
    {%- set councils = var('councils_to_build', none) -%}
    {%- if councils is none or model.resource_type == 'unit_test' -%}
        true
    {%- elif councils | length == 0 -%}
        false
    {%- else -%}
        {{ council }} in ({% for code in councils %}'{{ code | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- In a council_by_council model, true for the rows of a per-council parent that this build
    rebuilds: those of the councils being built when the model is updated in place, every row
    when it is built from nothing. -#}
{% macro in_councils_rebuilt(council) -%}
    {%- if model.resource_type != 'unit_test' and is_incremental() -%}{{ in_councils_to_build(council) }}{%- else -%}true{%- endif -%}
{%- endmacro %}

{#- A council_by_council model's pre-hook: the rows of the councils being rebuilt leave first. -#}
{% macro delete_councils_to_build() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ in_councils_to_build('la_code') }}
    {%- endif -%}
{%- endmacro %}

{#- An on-run-start hook. The job always names the councils it builds (null: every one), and
    records what it built in ops.councils_built once the build passes. A dbt run without the
    variable is someone's by hand (another date as at, another checkout): the record would no
    longer describe the models, so it is forgotten, and the next night builds every council. -#}
{% macro forget_councils_built() -%}
    {%- if target.type == 'duckdb' and var('councils_to_build', 'not named') == 'not named' -%}
    drop table if exists ops.councils_built
    {%- endif -%}
{%- endmacro %}
