#!/usr/bin/env bash
# Back up what Identity Services keeps: the MySQL/MariaDB database and the uploaded branding
# files (the console's data directory). README "Backup and restore" says how and when.
#
#   scripts/backup.sh BACKUP_DIR
#
# DB_HOST (127.0.0.1), DB_PORT (3306), DB_USER (root), DB_NAME (identity); the password, if
# any, in MYSQL_PWD (never on the command line, where `ps` shows it). DATA_DIR (data): the
# directory that holds branding/ (IDENTITY_DATA_DIR; /app/data in the console container).
# Writes BACKUP_DIR/database.sql.gz, BACKUP_DIR/branding.tar.gz and BACKUP_DIR/SHA256SUMS.
# Not in the backup, on purpose: IDENTITY_SECRET_KEY. Keep it in your secret store: without
# it the restored provider credentials and signing keys cannot be decrypted.
set -euo pipefail

out=${1:?usage: scripts/backup.sh BACKUP_DIR}
host=${DB_HOST:-127.0.0.1} port=${DB_PORT:-3306} user=${DB_USER:-root} name=${DB_NAME:-identity}
data_dir=${DATA_DIR:-data}
dump=$(command -v mariadb-dump || command -v mysqldump) || {
  echo "backup: needs mariadb-dump or mysqldump (apt-get install mariadb-client)" >&2
  exit 2
}
mkdir -p "$out"

# --single-transaction: a consistent snapshot without locking the services out (InnoDB).
# No --databases: the dump names no database, so it can be restored under another name.
"$dump" --host="$host" --port="$port" --user="$user" --single-transaction --quick \
  --routines --triggers --hex-blob --default-character-set=utf8mb4 --no-tablespaces \
  "$name" | gzip >"$out/database.sql.gz.partial"
mv "$out/database.sql.gz.partial" "$out/database.sql.gz"

if [ -d "$data_dir/branding" ]; then
  tar -C "$data_dir" -czf "$out/branding.tar.gz" branding
else
  tar -czf "$out/branding.tar.gz" --files-from /dev/null  # no logo uploaded yet
fi
(cd "$out" && sha256sum database.sql.gz branding.tar.gz >SHA256SUMS)
echo "backup: $name and $data_dir/branding written to $out"
