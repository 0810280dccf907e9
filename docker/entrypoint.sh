#!/bin/sh
# ACMEEH container entrypoint (tini runs it as PID 1's child).
#
#   serve (default)  validate the configuration, wait for PostgreSQL (bounded), apply migrations
#                    when ACMEEH_MIGRATE=1, then exec the server: gunicorn replaces this shell,
#                    so SIGTERM and SIGHUP reach it directly
#   migrate          validate, wait, apply migrations and exit (a Kubernetes Job, `compose run`)
#   anything else    run as given, e.g. `acmeeh ca init /etc/acmeeh/ca` or `sh`
#
# Environment: ACMEEH_CONFIG (/etc/acmeeh/config.yaml), ACMEEH_DB_WAIT_SECONDS (60),
# ACMEEH_MIGRATE (0). The configuration is validated first: a typo fails at once instead of
# after the database wait.
set -eu

CONFIG=${ACMEEH_CONFIG:-/etc/acmeeh/config.yaml}
WAIT=${ACMEEH_DB_WAIT_SECONDS:-60}

say() { printf 'acmeeh-entrypoint: %s\n' "$*" >&2; }

validate() {
    if ! acmeeh -c "$CONFIG" --validate-only >/dev/null; then
        say "the configuration $CONFIG is invalid (problems listed above)"
        exit 2
    fi
}

wait_for_database() {
    case $WAIT in
        '' | *[!0-9]*) say "ACMEEH_DB_WAIT_SECONDS=$WAIT is not a whole number of seconds"; exit 2 ;;
    esac
    start=$(date +%s)
    attempts=0
    # Bounded: at most WAIT seconds of one-second pauses, plus one connect timeout per attempt.
    while :; do
        attempts=$((attempts + 1))
        if last=$(acmeeh -c "$CONFIG" db status 2>&1); then
            [ "$attempts" -eq 1 ] || say "database reachable after $(($(date +%s) - start))s"
            return 0
        fi
        if [ $(($(date +%s) - start)) -ge "$WAIT" ]; then
            say "database not reachable after ${WAIT}s ($attempts attempts); last answer:"
            printf '%s\n' "$last" | tail -n 3 >&2
            say "check database.* in $CONFIG and that PostgreSQL is up (ACMEEH_DB_WAIT_SECONDS to wait longer)"
            exit 1
        fi
        [ "$attempts" -gt 1 ] || say "waiting up to ${WAIT}s for the database: $(printf '%s' "$last" | tail -n 1)"
        sleep 1
    done
}

migrate_requested() {
    case ${ACMEEH_MIGRATE:-0} in
        1 | true | yes) return 0 ;;
        *) return 1 ;;
    esac
}

command=${1:-serve}
case $command in
    serve)
        [ $# -eq 0 ] || shift
        validate
        wait_for_database
        if migrate_requested; then
            acmeeh -c "$CONFIG" db migrate
        fi
        exec acmeeh -c "$CONFIG" serve "$@"
        ;;
    migrate)
        validate
        wait_for_database
        exec acmeeh -c "$CONFIG" db migrate
        ;;
    *)
        exec "$@"
        ;;
esac
