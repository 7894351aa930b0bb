# Shared by deploy/kafka/kafka.sh (one broker) and deploy/kafka/cluster.sh (three): where the jars
# live, how they are installed from deploy/kafka/pom.xml, and the java command line. Sourced, not run.
#
#   KAFKA_HOME   where the jars go   [<repo>/.data/kafka-dist]

KAFKA_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KAFKA_SCRIPT_DIR/../.." && pwd)"
KAFKA_HOME="$(realpath -m "${KAFKA_HOME:-$REPO_ROOT/.data/kafka-dist}")"
POM="$KAFKA_SCRIPT_DIR/pom.xml"
LIBS="$KAFKA_HOME/libs"
# Records which pom the libs were copied from, so editing a version triggers a fresh install.
INSTALLED_MARKER="$LIBS/.installed-from-pom.sha256"
READY_LINE="Kafka Server started"

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

cmd_install() {
    mkdir -p "$KAFKA_HOME"
    # Brokers with different data dirs share these jars: one install at a time. The subshell
    # scopes the lock, so the broker started afterwards does not inherit it.
    (
        flock -w 300 8 || { log "timed out waiting for another install into $KAFKA_HOME"; exit 1; }
        install_jars
    ) 8<"$KAFKA_HOME"
}

install_jars() {
    if [[ -f "$INSTALLED_MARKER" && "$(cat "$INSTALLED_MARKER")" == "$(pom_hash)" ]]; then
        return 0
    fi
    log "installing jars into $LIBS (first run downloads ~45 MB from Maven Central)"
    rm -rf "$LIBS"   # drop jars of an older pom so two versions never share the classpath
    mkdir -p "$LIBS"
    # Debian's Maven 3.8 prints stray colour resets even with -B; strip them from the output.
    mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS" 2>&1 \
        | sed 's/\x1b\[0m//g' >&2
    pom_hash >"$INSTALLED_MARKER"
}

# Sets JAVA_CMD: the java command line (minus main class) of a broker and its tools.
# $1: heap flags, $2: the broker's log directory.
java_cmd() {
    local heap_flags
    read -ra heap_flags <<<"$1"
    JAVA_CMD=(java "${heap_flags[@]}" -XX:+UseG1GC -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$KAFKA_SCRIPT_DIR/log4j2.properties"
        -Dkafka.logs.dir="$2"
        -cp "$LIBS/*")
}

# Prints the pid in pid file $1 if it is a broker running config $2. The cmdline check guards
# against a stale pid file whose number now belongs to another process (e.g. after a reboot).
broker_pid() {
    [[ -f "$1" ]] || return 1
    local pid
    pid="$(cat "$1")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "kafka.Kafka $2" || return 1
    echo "$pid"
}
