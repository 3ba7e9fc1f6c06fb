#!/usr/bin/env bash
# Serving: /api/info requests per second with wrk (2 threads, 64 connections)
# against nginx returning a fixed JSON body on the same machine, same run;
# and the idle backend's resident memory.
# Targets: at least 0.5 of nginx; idle RSS at most 8 MB.
# Usage: [EB_BIN=...] bench/backend_serving.sh [SECONDS]
. "$(dirname "$0")/backend_common.sh"
SECS=${1:-5}
for t in wrk nginx; do
  command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "needs $t: scripts/deps.sh bench" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
pg_up
P=$(free_port); N=$(free_port)
DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts PORT=$P FLY_REGION=lhr \
  "$EB" backend --listen 127.0.0.1 2>/dev/null &
BPID=$!; PIDS+=($BPID)
wait_http "http://127.0.0.1:$P/healthz" || { echo "backend did not start" >&2; exit 1; }
sleep 1
rss_idle=$(awk '/^VmRSS/{print $2}' /proc/$BPID/status)
anon_idle=$(awk '/^RssAnon/{print $2}' /proc/$BPID/status)
pss_idle=$(awk '/^Pss:/{print $2}' /proc/$BPID/smaps_rollup)
body=$(curl -s "http://127.0.0.1:$P/api/info")
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<NGX
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $W/nginx/access.log;
  client_body_temp_path $W/nginx;
  proxy_temp_path $W/nginx;
  fastcgi_temp_path $W/nginx;
  uwsgi_temp_path $W/nginx;
  scgi_temp_path $W/nginx;
  server {
    listen 127.0.0.1:$N;
    location / {
      default_type application/json;
      add_header Cache-Control no-store;
      add_header X-Fly-Region lhr;
      return 200 '$body';
    }
  }
}
NGX
"$NGINX" -c "$W/nginx/nginx.conf" -g 'daemon off;' 2>"$W/nginx/stderr" &
PIDS+=($!)
wait_http "http://127.0.0.1:$N/" || { echo "nginx did not start: $(cat "$W/nginx/stderr")" >&2; exit 1; }
rps() { wrk -t2 -c64 -d"${SECS}s" "$1" | awk '/^Requests\/sec/{print $2}'; }
# the backend logs one line per request (to /dev/null here); nginx writes its access log
# alternate the two, twice, and keep each one's best: the machine is shared
n1=$(rps "http://127.0.0.1:$N/api/info"); b1=$(rps "http://127.0.0.1:$P/api/info")
n2=$(rps "http://127.0.0.1:$N/api/info"); b2=$(rps "http://127.0.0.1:$P/api/info")
nginx_rps=$(printf '%s\n%s\n' "$n1" "$n2" | sort -g | tail -n1)
be_rps=$(printf '%s\n%s\n' "$b1" "$b2" | sort -g | tail -n1)
rss_after=$(awk '/^VmRSS/{print $2}' /proc/$BPID/status)
ratio=$(awk -v a="$be_rps" -v b="$nginx_rps" 'BEGIN{printf "%.3f", a/b}')
echo "wrk -t2 -c64 -d${SECS}s /api/info, best of two alternating runs: nginx $nginx_rps req/s (1 worker; $n1, $n2), backend $be_rps req/s ($b1, $b2)"
echo "throughput ratio (backend / nginx): $ratio  (target >= 0.5)"
mb() { awk -v k="$1" 'BEGIN{printf "%.1f MB", k/1024}'; }
echo "backend idle memory: RSS $(mb "$rss_idle") (target <= 8 MB), of which private $(mb "$anon_idle"); PSS $(mb "$pss_idle"); RSS after the load $(mb "$rss_after")"
echo "  (the rest of the RSS is shared-library pages: libc, libcrypto, libgnutls ... shared with every process that maps them)"
