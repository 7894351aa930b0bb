#!/bin/sh
# The container's command: `serve` (the default) runs $SERVICE on 0.0.0.0:$PORT the way
# `make run` starts it (deploy/run.py); anything else is the service's own command line,
# e.g. `migrate` (python -m ledger migrate), `verify`, `rebuild`.
set -eu
: "${SERVICE:?SERVICE is set by the image}"
PORT="${PORT:-8000}"
if [ "${1:-serve}" = "serve" ]; then
    case "$SERVICE" in
        # The gateway and the console serve themselves (the gateway's own server protocol,
        # the console's proxy settings): python -m <service> serve.
        gateway|console)
            exec python -m "$SERVICE" serve --host 0.0.0.0 --port "$PORT" --log-level "${UVICORN_LOG_LEVEL:-warning}" ;;
        *)
            exec python -m uvicorn --factory "$SERVICE.main:create_app" \
                --host 0.0.0.0 --port "$PORT" --log-level "${UVICORN_LOG_LEVEL:-warning}" ;;
    esac
fi
exec python -m "$SERVICE" "$@"
