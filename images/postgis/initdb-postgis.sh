#!/bin/bash
# As the official postgis/postgis image's 10_postgis.sh: a template_postgis
# database, and the PostGIS extensions in it and in $POSTGRES_DB. Sourced by
# the entrypoint against its temporary server (unix socket only).
set -e

export PGUSER="$POSTGRES_USER"

# "${psql[@]}": the entrypoint's docker_process_sql (as $POSTGRES_USER, in $POSTGRES_DB).
"${psql[@]}" <<-'EOSQL'
	CREATE DATABASE template_postgis IS_TEMPLATE true;
EOSQL

for db in template_postgis "$POSTGRES_DB"; do
	echo "Loading PostGIS extensions into $db"
	"${psql[@]}" --dbname="$db" <<-'EOSQL'
		CREATE EXTENSION IF NOT EXISTS postgis;
		CREATE EXTENSION IF NOT EXISTS postgis_topology;
		CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
		CREATE EXTENSION IF NOT EXISTS postgis_tiger_geocoder;
	EOSQL
done
