#!/bin/sh
# shellcheck disable=SC2016 # backquotes in single quotes are SQL names, not commands
# Entry point of the MariaDB stand-in (mariadb.Dockerfile). Like the mysql image: an empty
# data directory is initialised from MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER and
# MYSQL_PASSWORD, with the server on its socket only meanwhile, so that a TCP health check
# passes only once the database and its user exist. Then mariadbd runs as PID 1 with the
# container's arguments.
set -eu

datadir=/var/lib/mysql
init_socket=/run/mysqld/init.sock

log() { printf 'mariadb-entrypoint: %s\n' "$*" >&2; }

# A value inside a single-quoted SQL string.
sql_string() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g"; }
# A name inside backquotes.
sql_name() { printf '%s' "$1" | sed -e 's/`/``/g'; }

if [ ! -d "$datadir/mysql" ]; then
    : "${MYSQL_ROOT_PASSWORD:?is required to initialise the database}"
    log "initialising $datadir"
    chown mysql:mysql "$datadir"
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >/dev/null
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$init_socket" &
    pid=$!
    tries=0
    until mariadb-admin --socket="$init_socket" ping >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 300 ]; then
            log "the server did not start for initialisation"
            exit 1
        fi
        sleep 0.1
    done
    {
        root_pw=$(sql_string "$MYSQL_ROOT_PASSWORD")
        printf "CREATE USER 'root'@'%%' IDENTIFIED BY '%s';\n" "$root_pw"
        printf "GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n"
        if [ -n "${MYSQL_DATABASE:-}" ]; then
            printf 'CREATE DATABASE IF NOT EXISTS `%s`;\n' "$(sql_name "$MYSQL_DATABASE")"
        fi
        if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
            user=$(sql_string "$MYSQL_USER")
            printf "CREATE USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$user" "$(sql_string "$MYSQL_PASSWORD")"
            if [ -n "${MYSQL_DATABASE:-}" ]; then
                printf "GRANT ALL ON \`%s\`.* TO '%s'@'%%';\n" "$(sql_name "$MYSQL_DATABASE")" "$user"
            fi
        fi
    } | mariadb --socket="$init_socket" -uroot
    mariadb-admin --socket="$init_socket" shutdown
    wait "$pid"
    log "initialised"
fi

# Debian's server configuration binds to 127.0.0.1; in a container the port must be open.
exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 "$@"
