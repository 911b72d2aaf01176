#!/bin/sh
# Patroni's post_bootstrap (run once, on the member that initialized the
# cluster): the services' role and database. $1: a connection URL to the new
# primary as the superuser. The password: PRESENCE_DB_PASSWORD (Secret
# presence-postgres-app), read by psql from the environment (\getenv), never
# on a command line.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
\getenv password PRESENCE_DB_PASSWORD
CREATE ROLE presence LOGIN PASSWORD :'password';
CREATE DATABASE presence OWNER presence;
SQL
