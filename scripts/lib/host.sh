# shellcheck shell=bash
# Sourced by the scripts that set a machine up: messages prefixed with the script's name
# (set SCRIPT_NAME before sourcing) and running a command as root.

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
    printf '%s: ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "not running as root and sudo is not installed; run this script as root"
    fi
}
