# Start and stop a throwaway PostgreSQL server for the test suite (sourced by .ci/run).
#
#   pg_start   installs Debian's postgresql when no server binaries exist, creates a cluster in a temporary
#              directory owned by an unprivileged user, starts it on 127.0.0.1 on a free port and exports
#              RECSYS_TEST_POSTGRES_URL (the tests create and drop their own databases on it);
#   pg_stop    stops the server and deletes the directory.

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_as_owner() {  # run a command as the cluster's owner (root may not run a PostgreSQL server)
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    if [ -z "$(pg_bin)" ]; then
        echo "ci: installing PostgreSQL (Debian package postgresql)"
        if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    fi
    local bin; bin="$(pg_bin)"
    PG_DIR="$(mktemp -d /tmp/recsys-ci-pg.XXXXXX)"
    export PG_DIR
    if [ "$(id -u)" = "0" ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_DIR"
    fi
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$PG_DIR/initdb.log"
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
    export RECSYS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($PG_DIR)"
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        pg_as_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || true
        rm -rf "$PG_DIR"
    fi
}
