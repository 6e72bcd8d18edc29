#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an empty database and data directory.
#
#   scripts/restore.sh BACKUP_DIR
#
# The same DB_HOST, DB_PORT, DB_USER, DB_NAME, MYSQL_PWD and DATA_DIR as backup.sh. The
# database is created if missing and must have no tables: a restore never merges into live
# data (drop it yourself first if you mean to replace it). Stop the services before, start
# them after with the same IDENTITY_SECRET_KEY; then run `python -m shared.migrate` if the
# code is newer than the backup (README "Upgrading").
set -euo pipefail

from=${1:?usage: scripts/restore.sh BACKUP_DIR}
host=${DB_HOST:-127.0.0.1} port=${DB_PORT:-3306} user=${DB_USER:-root} name=${DB_NAME:-identity}
data_dir=${DATA_DIR:-data}
client=$(command -v mariadb || command -v mysql) || {
  echo "restore: needs the mariadb or mysql client (apt-get install mariadb-client)" >&2
  exit 2
}
(cd "$from" && sha256sum --check --quiet SHA256SUMS)
case "$name" in *[!A-Za-z0-9_]*) echo "restore: DB_NAME must be letters, digits, _" >&2; exit 2 ;; esac

sql() { "$client" --host="$host" --port="$port" --user="$user" --batch --skip-column-names "$@"; }
sql -e "CREATE DATABASE IF NOT EXISTS \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
tables=$(sql -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$name'")
if [ "$tables" != "0" ]; then
  echo "restore: database $name already has $tables tables; restore into an empty one" >&2
  exit 1
fi
if [ -d "$data_dir/branding" ] && [ -n "$(ls -A "$data_dir/branding")" ]; then
  echo "restore: $data_dir/branding is not empty; restore into an empty data directory" >&2
  exit 1
fi

gunzip -c "$from/database.sql.gz" | sql "$name"
mkdir -p "$data_dir"
tar -C "$data_dir" -xzf "$from/branding.tar.gz"
echo "restore: $from restored into database $name and $data_dir"
