#!/usr/bin/env bash
# Install PostgreSQL (Debian's package), start it on loopback, create a test role and database.
# Prints the URL to use as MONITOR_TEST_DATABASE_URL on its last line.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='monitor'\"" | grep -q 1 \
  || su postgres -c "psql -q -c \"CREATE ROLE monitor LOGIN SUPERUSER PASSWORD 'monitor'\"" >&2
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='monitor_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O monitor monitor_test" >&2
echo "postgresql+psycopg://monitor:monitor@127.0.0.1:5432/monitor_test"
