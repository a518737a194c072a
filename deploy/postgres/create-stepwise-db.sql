-- Runs once, when the postgresql volume is first initialised (postgres image: /docker-entrypoint-initdb.d).
--
-- One PostgreSQL instance serves both:
--   * Temporal: databases `temporal` (created by the image as POSTGRES_USER's default database) and
--     `temporal_visibility` (created by temporalio/auto-setup), owned by role `temporal`;
--   * Stepwise: the session archive in database `stepwise`, owned by its own role, so Stepwise never holds
--     credentials to Temporal's tables. Its tables are created by the migrations `stepwise worker` runs at start
--     (or by `stepwise migrate`).
-- Change the password for anything beyond local use (and DATABASE_URL in docker-compose.yml with it).
CREATE ROLE stepwise WITH LOGIN PASSWORD 'stepwise';
CREATE DATABASE stepwise OWNER stepwise;
