#!/usr/bin/env bash
# setup-host.sh — make a Debian 12/13 machine ready to build, test and run staffgate.
#
# Installs only what is missing (apt packages, a Rust toolchain), starts MariaDB if it
# is not answering, and creates the `staffgate` MariaDB user and database. Idempotent:
# run it as often as you like. Runs as root, or as a user with sudo.
#
#   scripts/setup-host.sh               # set the machine up; progress on stderr
#   scripts/setup-host.sh --print-env   # same, then print `export ...` lines on stdout:
#   eval "$(scripts/setup-host.sh --print-env)"
#
# Environment:
#   STAFFGATE_DB_PASSWORD       password of the MariaDB user `staffgate` (default: staffgate);
#                               the user's password is set to it on every run
#   STAFFGATE_EXTRA_PACKAGES    extra Debian packages to install, space-separated
#                               (e.g. "chromium chromium-driver poppler-utils zbar-tools")
#   STAFFGATE_DB_ROOT_PASSWORD  MariaDB root password, only for the TCP fallback when root
#                               cannot sign in through the unix socket (default: empty)
set -euo pipefail

readonly DB_NAME=staffgate
readonly DB_USER=staffgate
readonly DB_HOST=127.0.0.1
readonly DB_PORT=3306
readonly TEST_DB_PATTERN='sgtest\_%' # test databases: sgtest_<something>, made by the harness
readonly BASE_PACKAGES=(mariadb-server mariadb-client libmariadb-dev pkg-config build-essential curl ca-certificates fonts-ipaexfont-gothic)

usage() {
    cat <<'USAGE'
usage: scripts/setup-host.sh [--print-env]

  --print-env   after setting up, print `export DATABASE_URL=...` and
                `export STAFFGATE_TEST_DATABASE_URL=...` on stdout (nothing else)
USAGE
}

print_env=0
for arg in "$@"; do
    case "$arg" in
        --print-env) print_env=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            printf 'setup-host: unknown argument: %s\n' "$arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

SCRIPT_NAME=setup-host
# shellcheck source=scripts/lib/host.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/host.sh"

# ---------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
        apt_updated=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

[ -r /etc/debian_version ] || log "warning: this does not look like Debian; continuing anyway"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs Debian (12 or 13)"

extra_packages=()
read -r -a extra_packages <<<"${STAFFGATE_EXTRA_PACKAGES:-}"

missing=()
for pkg in "${BASE_PACKAGES[@]}" "${extra_packages[@]}"; do
    [[ "$pkg" =~ ^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$ ]] || die "not a Debian package name: '$pkg' (STAFFGATE_EXTRA_PACKAGES?)"
    if ! is_installed "$pkg"; then
        case " ${missing[*]} " in
            *" $pkg "*) ;;
            *) missing+=("$pkg") ;;
        esac
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
else
    log "Debian packages: all present"
fi

# ---------------------------------------------------------------------------------------
# 2. Rust toolchain (rustup, minimal profile + rustfmt + clippy)
# ---------------------------------------------------------------------------------------
load_cargo_env() {
    if [ -f "${HOME:-}/.cargo/env" ]; then
        # shellcheck source=/dev/null
        . "${HOME:-}/.cargo/env"
    fi
}
load_cargo_env
if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found: installing the Rust toolchain with rustup (minimal profile, rustfmt, clippy)"
    if ! curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --no-modify-path --profile minimal --component rustfmt,clippy >&2; then
        die "installing Rust with rustup failed (no access to sh.rustup.rs / static.rust-lang.org?); install a Rust toolchain >= 1.85 with rustfmt and clippy by hand and re-run"
    fi
    load_cargo_env
    command -v cargo >/dev/null 2>&1 || die "rustup finished but cargo is still not on PATH (expected \$HOME/.cargo/bin)"
fi
# fmt and clippy are needed by scripts/test.sh; add them when rustup can.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        log "adding rustup components rustfmt and clippy"
        rustup component add rustfmt clippy >&2 || log "warning: could not add rustfmt/clippy"
    else
        log "warning: cargo fmt / cargo clippy missing and rustup not available"
    fi
fi
log "Rust: $(cargo --version)"

# ---------------------------------------------------------------------------------------
# 3. MariaDB server running
# ---------------------------------------------------------------------------------------
# `mariadb-admin ping` exits 0 whenever the server answers, even with "access denied".
db_ping() {
    mariadb-admin ping >/dev/null 2>&1 ||
        mariadb-admin --protocol=tcp -h"$DB_HOST" -P"$DB_PORT" ping >/dev/null 2>&1
}

wait_for_db() { # up to 10 s
    local _
    for _ in $(seq 1 100); do
        db_ping && return 0
        sleep 0.1
    done
    return 1
}

if db_ping; then
    log "MariaDB: running"
else
    log "MariaDB: not answering, starting it"
    started=0
    # On a host booted with systemd, let systemd own the service.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        if as_root systemctl start mariadb >&2 && wait_for_db; then
            started=1
        else
            log "systemctl start mariadb did not bring it up; trying start-stop-daemon"
        fi
    fi
    if [ "$started" -eq 0 ]; then
        # Works in containers without systemd too (the Debian package does not start it there).
        [ -x /usr/sbin/mariadbd ] || die "/usr/sbin/mariadbd not found although mariadb-server is installed"
        as_root install -d -o mysql -g mysql /run/mysqld
        as_root start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd -- --user=mysql >&2
        wait_for_db || die "MariaDB did not answer 'mariadb-admin ping' within 10 s after starting it. See /var/log/mysql/error.log, or run '/usr/sbin/mariadbd --user=mysql' in the foreground to see why."
    fi
    log "MariaDB: started"
fi

# ---------------------------------------------------------------------------------------
# 4. MariaDB user and database
# ---------------------------------------------------------------------------------------
tcp_admin_env=()
if [ -n "${STAFFGATE_DB_ROOT_PASSWORD:-}" ]; then
    tcp_admin_env=("MYSQL_PWD=$STAFFGATE_DB_ROOT_PASSWORD")
fi
admin_mode=""
if as_root mariadb --protocol=socket -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    admin_mode=socket
elif env "${tcp_admin_env[@]}" mariadb --protocol=tcp -uroot -h"$DB_HOST" -P"$DB_PORT" -e 'SELECT 1' >/dev/null 2>&1; then
    admin_mode=tcp
else
    die "cannot sign in to MariaDB as an administrator: tried root through the unix socket (as the OS root user) and 'mariadb -uroot -h$DB_HOST' (password from STAFFGATE_DB_ROOT_PASSWORD, empty if unset)"
fi
log "MariaDB admin connection: root via $admin_mode"

admin_sql() { # SQL on stdin
    if [ "$admin_mode" = socket ]; then
        as_root mariadb --protocol=socket -uroot --batch
    else
        env "${tcp_admin_env[@]}" mariadb --protocol=tcp -uroot -h"$DB_HOST" -P"$DB_PORT" --batch
    fi
}

# Quote a value for a single-quoted SQL string literal.
sql_quote() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\'/\'\'}
    printf "'%s'" "$s"
}

# Percent-encode a value for the userinfo part of a URL (byte-wise, RFC 3986 unreserved kept).
url_encode() {
    local LC_ALL=C
    local s=$1 out="" c hex i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case "$c" in
            [a-zA-Z0-9.~_-]) out+=$c ;;
            *)
                printf -v hex '%%%02X' "'$c"
                out+=$hex
                ;;
        esac
    done
    printf '%s' "$out"
}

db_password=${STAFFGATE_DB_PASSWORD:-staffgate}
[ -n "$db_password" ] || die "STAFFGATE_DB_PASSWORD is set but empty"
pw_sql=$(sql_quote "$db_password")

{
    # Make sure backslash escapes in the quoted password mean what sql_quote assumed.
    echo "SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '');"
    echo "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    for host in localhost "$DB_HOST"; do
        account="'$DB_USER'@'$host'"
        echo "CREATE USER IF NOT EXISTS $account IDENTIFIED BY $pw_sql;"
        echo "ALTER USER $account IDENTIFIED BY $pw_sql;"
        echo "GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO $account;"
        echo "GRANT ALL PRIVILEGES ON \`$TEST_DB_PATTERN\`.* TO $account;"
    done
    echo "FLUSH PRIVILEGES;"
} | admin_sql >&2 || die "creating the MariaDB user '$DB_USER' / database '$DB_NAME' failed"
log "MariaDB: user '$DB_USER'@'localhost' and @'$DB_HOST', database '$DB_NAME' (utf8mb4_unicode_ci), grants on $DB_NAME.* and $TEST_DB_PATTERN.*"

# Check the result the way the application and the test harness use it: over TCP.
check_db="sgtest_setup_check_$$"
if ! MYSQL_PWD=$db_password mariadb --protocol=tcp -u"$DB_USER" -h"$DB_HOST" -P"$DB_PORT" --batch >/dev/null 2>&1 <<SQL; then
SELECT 1 FROM DUAL;
USE \`$DB_NAME\`;
CREATE DATABASE \`$check_db\`;
DROP DATABASE \`$check_db\`;
SQL
    die "signing in as '$DB_USER' at $DB_HOST:$DB_PORT, or creating/dropping a test database '$check_db', failed"
fi
log "MariaDB: '$DB_USER' can sign in over TCP and create/drop sgtest_* databases"

# ---------------------------------------------------------------------------------------
# 5. Result
# ---------------------------------------------------------------------------------------
pw_url=$(url_encode "$db_password")
if [ "$print_env" -eq 1 ]; then
    printf "export DATABASE_URL='mysql://%s:%s@%s:%s/%s'\n" "$DB_USER" "$pw_url" "$DB_HOST" "$DB_PORT" "$DB_NAME"
    printf "export STAFFGATE_TEST_DATABASE_URL='mysql://%s:%s@%s:%s'\n" "$DB_USER" "$pw_url" "$DB_HOST" "$DB_PORT"
else
    log "done. For DATABASE_URL and STAFFGATE_TEST_DATABASE_URL run: eval \"\$(scripts/setup-host.sh --print-env)\""
fi
