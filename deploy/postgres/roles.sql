-- The PostgreSQL warehouse's roles and databases, created once by a DBA (a superuser, or a role
-- with CREATEROLE and CREATEDB), as docs/deployment.md describes:
--
--   psql -v build_password='…' -f deploy/postgres/roles.sql
--
-- Optional variables (defaults in brackets): database [cfa], dagster_database [cfa_dagster],
-- build_role [cfa_build], analyst_role [cfa_analyst]. The test suite runs this very file
-- against its throwaway server, so what the docs ask for is what is tested.
--
--   cfa_build    logs in; owns the warehouse database and Dagster's: ingestion, dbt and
--                Dagster's run storage all write as it. Nothing else writes.
--   cfa_analyst  does not log in: each analyst (or dashboard) has a login role that is a member
--                of it. Every dbt build grants it the marts schema, and nothing else
--                (dbt_project/macros/analyst_grants.sql).

\set ON_ERROR_STOP on
\if :{?database}
\else
  \set database cfa
\endif
\if :{?dagster_database}
\else
  \set dagster_database cfa_dagster
\endif
\if :{?build_role}
\else
  \set build_role cfa_build
\endif
\if :{?analyst_role}
\else
  \set analyst_role cfa_analyst
\endif
\if :{?build_password}
  CREATE ROLE :"build_role" LOGIN PASSWORD :'build_password';
\else
  CREATE ROLE :"build_role" LOGIN;
\endif
CREATE ROLE :"analyst_role" NOLOGIN;

-- Text compares byte by byte ('C'), as DuckDB compares it: the latest version of a record and
-- every ordered id come out the same on both targets, whatever the server's own locale.
CREATE DATABASE :"database" OWNER :"build_role" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE :"dagster_database" OWNER :"build_role";

-- Only the build and the analysts connect to the warehouse; nobody but the build to Dagster's.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"analyst_role";
REVOKE ALL ON DATABASE :"dagster_database" FROM PUBLIC;

\connect :"database"
-- PostgreSQL 15 no longer lets everyone create in public; older servers did.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
