#!/usr/bin/env bash
# Local development stack, started by `make run`: migrate, load the demo data, then run the web
# server (gunicorn, as in production) and a Celery worker with embedded beat in the foreground.
# Ctrl-C or TERM stops all of them; if either one dies, the other is stopped too.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# DEBUG=1 gives the development SECRET_KEY and serves static files straight from static/.
export DEBUG=${DEBUG:-1}
PY="$VENV/bin/python"

bind="$HOST:$PORT"
[[ $HOST == *:* ]] && bind="[$HOST]:$PORT"
# DEBUG (tracebacks, the development key) and the demo users' published password are for this
# machine only: refuse a wider bind before anything is migrated or seeded. gunicorn.conf.py holds
# the rule (and applies it again when gunicorn starts, for the image and compose too).
if ! refusal=$("$PY" -c 'import os, runpy, sys
refusal = runpy.run_path("gunicorn.conf.py")["public_debug_refusal"]([sys.argv[1]], os.environ)
sys.exit(refusal)' "$bind" 2>&1); then
  echo "run.sh: $refusal" >&2
  exit 2
fi

"$PY" manage.py migrate --noinput
case "${DEBUG,,}" in
  1 | true | yes | on)
    # seed_demo is idempotent and prints the demo logins; keep them to show after the noise.
    logins=$("$PY" manage.py seed_demo)
    ;;
  *)
    # Without DEBUG the manifest storage needs collected, hashed files (as in the Docker image).
    "$PY" manage.py collectstatic --noinput >/dev/null
    # Demo users with a published password are never created without DEBUG (seed_demo refuses).
    logins="DEBUG is off, so no demo users were created. Sign in with an account of your own
(manage.py createsuperuser), or load the demo anyway: manage.py seed_demo --force-demo-users"
    ;;
esac

probe_host=$HOST
[[ $HOST == 0.0.0.0 || $HOST == "::" ]] && probe_host=127.0.0.1
[[ $probe_host == *:* ]] && probe_host="[$probe_host]"
url="http://$probe_host:$PORT/"

banner() {
  echo
  echo "==================================== Lockstep ===================================="
  echo "$logins"
  echo
  echo "  $1"
  echo "=================================================================================="
  echo
}

state=$(mktemp -d)
pids=()
stop() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo "run.sh: stopping the web server and the Celery worker..." >&2
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$state"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# Pass the worker's output through, noting when it says it is ready.
watch_worker() {
  local line
  # Keep relaying until the worker closes its output, so its shutdown messages show too.
  trap '' INT TERM
  while IFS= read -r line; do
    printf '%s\n' "$line"
    [[ $line == *" ready." ]] && : >"$state/worker-ready"
  done
}

banner "Starting on $url (web server and Celery worker output follows; Ctrl-C stops both)"

# The production configuration (gunicorn.conf.py); Ctrl-C lets requests in flight finish first.
"$VENV/bin/gunicorn" -c gunicorn.conf.py pipeline.wsgi:application --bind "$bind" &
pids+=($!)
"$VENV/bin/celery" -A pipeline worker -B --concurrency 2 --loglevel INFO > >(watch_worker) 2>&1 &
pids+=($!)

# Once the site answers and the worker is ready, repeat the logins below their start-up output.
for _ in $(seq 120); do
  if [[ -e $state/worker-ready ]] &&
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "${url}health/" 2>/dev/null; then
    banner "Lockstep is ready at $url (Ctrl-C stops the web server and the worker)"
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: a server failed to start" >&2; exit 1; }
  done
  sleep 0.5
done

set +e
wait -n "${pids[@]}"
status=$?
echo "run.sh: a server exited with status $status" >&2
exit "$status"
