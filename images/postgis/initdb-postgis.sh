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

load_extensions() {
	echo "Loading PostGIS extensions into $1"
	"${psql[@]}" --dbname="$1" <<-'EOSQL'
		CREATE EXTENSION IF NOT EXISTS postgis;
		CREATE EXTENSION IF NOT EXISTS postgis_topology;
		CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
		CREATE EXTENSION IF NOT EXISTS postgis_tiger_geocoder;
	EOSQL
}

load_extensions template_postgis

# While $POSTGRES_DB is as initdb made it (no init script before this one
# wrote to it), it is made again as a copy of template_postgis: the same
# result as loading the extensions into it, in a file copy instead of ~3 s
# of extension SQL.
untouched=$("${psql[@]}" --tuples-only --no-align <<-'EOSQL'
	SELECT (SELECT count(*) FROM pg_extension) = 1
	   AND (SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema')
	                                            AND nspname NOT LIKE 'pg\_%') = 0
	   AND (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) = 0
	   AND (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) = 0
	   AND (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace) = 0
	   AND (SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
	        WHERE d.datname = current_database()) = 0
EOSQL
)
if [ "$untouched" = t ]; then
	echo "Copying template_postgis to $POSTGRES_DB"
	"${psql[@]}" --dbname=template1 --set db="$POSTGRES_DB" <<-'EOSQL'
		DROP DATABASE :"db";
		CREATE DATABASE :"db" TEMPLATE template_postgis;
	EOSQL
else
	load_extensions "$POSTGRES_DB"
fi
