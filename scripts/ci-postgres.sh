#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the ledger tests (Debian packaging).
# Prints the SQLAlchemy URL on stdout (everything else goes to stderr), so:
#   export AIEXPORT_TEST_POSTGRES_URL="$(bash scripts/ci-postgres.sh)"
# Idempotent: re-running reuses the cluster. Needs root (apt-get, pg_createcluster).
set -euo pipefail

PORT="${AIEXPORT_PG_PORT:-54329}"
CLUSTER="${AIEXPORT_PG_CLUSTER:-aiexport}"
DB="${AIEXPORT_PG_DB:-aiexport_test}"
ROLE="${AIEXPORT_PG_USER:-aiexport}"
PASSWORD="${AIEXPORT_PG_PASSWORD:-aiexport}"

log() { echo "ci-postgres: $*" >&2; }

if ! command -v pg_createcluster >/dev/null 2>&1 || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  log "installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {found=1} END {exit !found}'; then
  log "creating cluster $VERSION/$CLUSTER on port $PORT"
  pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" >&2
  # A throwaway test server: loopback only, durability traded for speed.
  cat > "/etc/postgresql/$VERSION/$CLUSTER/conf.d/aiexport.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

status="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
if [ "$status" != "online" ]; then
  log "starting cluster $VERSION/$CLUSTER"
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
  if su postgres -c "pg_isready -q -h 127.0.0.1 -p $PORT" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
su postgres -c "pg_isready -h 127.0.0.1 -p $PORT" >&2

psql_admin() { su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $PORT -d postgres $*"; }

if [ "$(psql_admin "-tAc \"SELECT 1 FROM pg_roles WHERE rolname='$ROLE'\"")" != "1" ]; then
  psql_admin "-c \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\"" >&2
fi
if [ "$(psql_admin "-tAc \"SELECT 1 FROM pg_database WHERE datname='$DB'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE $DB OWNER $ROLE\"" >&2
fi

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
