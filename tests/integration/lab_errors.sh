#!/usr/bin/env bash
# `edgebench lab`: --help, usage errors (exit 2), no PostgreSQL installed, a
# bad --db, a run as an ordinary user, and --db against an existing server.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/lab.sh"

help=$("$EB" lab --help)
for f in --regions --all --db-site --profile --rtt-file --overlay --db --iterations --mode \
  --read --rounds --out --keep --verbose --dry-run; do
  check "--help documents $f" grep -q -- "$f" <<<"$help"
done

mkdir -p "$T/dry"
dry=$(TMPDIR="$T/dry" "$EB" lab --dry-run --regions lhr,syd,iad)
check "--dry-run prints the model's RTTs" grep -q "| lhr | London | eu | 446 | 1.8 | 10.03 |" <<<"$dry"
check "--dry-run: syd 380.83 ms (k 2.2)" grep -q "| syd | Sydney | ap | 17220 | 2.2 | 380.83 |" <<<"$dry"
check "--dry-run: iad 84.00 ms (k 1.5)" grep -q "| iad | Virginia | na | 5467 | 1.5 | 84.00 |" <<<"$dry"
check "--dry-run starts nothing" [ -z "$(ls -A "$T/dry")" ]
seed=$("$EB" lab --dry-run --profile seed)
check "--dry-run --profile seed: lhr 11.39 (11.89 - 0.5)" grep -q "| lhr .* | 11.39 |" <<<"$seed"
check "--dry-run --profile seed: syd 268.35 (268.85 - 0.5)" grep -q "| syd .* | 268.35 |" <<<"$seed"

# usage ARGS...: exit 2 and a message naming the input
usage() {
  "$EB" lab "$@" >/dev/null 2>"$T/usage.err"
  local rc=$?
  check "lab $* -> exit 2 ($rc): $(head -c 160 "$T/usage.err")" [ "$rc" -eq 2 ]
}
usage --iterations 0
usage --iterations abc
usage --mode fast
usage --overlay vpn
grep -q "use none, wireguard or auto" "$T/usage.err" && ok "--overlay vpn names the modes" || fail "--overlay vpn message"
usage --topology ring
usage --overlay wireguard --db postgresql://127.0.0.1/x
usage --regions lhr,nowhere
grep -q "nowhere" "$T/usage.err" && ok "unknown region named" || fail "unknown region not named"
usage --profile seed --regions ams
usage --rtt-file "$T/missing.csv"
usage --bogus
usage --topology mesh --overlay none
grep -q -- "--overlay none" "$T/usage.err" && ok "--topology with --overlay none says why" || fail "--topology mesh --overlay none message"
usage --rtt-file "$T"
grep -q "is a directory" "$T/usage.err" && ok "--rtt-file DIR says it is a directory" || fail "--rtt-file DIR: $(cat "$T/usage.err")"
usage --regions lhr --db 'postgresql://[::1'
check "lab --help documents lab cleanup" grep -q "edgebench lab cleanup" <<<"$help"
check "lab --help documents exit status 129" grep -q "129 (SIGHUP)" <<<"$help"
"$EB" lab cleanup --bogus >/dev/null 2>"$T/cleanup.err"
rc=$?
check "lab cleanup --bogus -> exit 2 ($rc)" [ "$rc" -eq 2 ]
check "lab cleanup --bogus calls itself 'edgebench lab cleanup'" grep -q "^edgebench lab cleanup: unknown option" "$T/cleanup.err"

# A bad --out is a usage error found before anything starts.
mkdir -p "$T/outtmp"
: >"$T/afile"
mkdir -p "$T/earlier" && echo '{"kept":true}' >"$T/earlier/results.json"
for out in "$T/afile" "$T/afile/sub" /proc/edgebench-nonexistent "$T/earlier"; do
  SECONDS=0
  TMPDIR="$T/outtmp" "$EB" lab --regions lhr --iterations 2 --out "$out" >/dev/null 2>"$T/out.err"
  rc=$?
  check "--out $out -> exit 2 ($rc): $(head -c 160 "$T/out.err")" [ "$rc" -eq 2 ]
  check "--out $out: the message names it" grep -qF -- "--out $out" "$T/out.err"
  check "--out $out: found before starting anything (${SECONDS} s)" [ "$SECONDS" -le 3 ]
  check "--out $out: no 'regions failed'" bash -c "! grep -q 'regions failed' '$T/out.err'"
done
check "bad --out: nothing started in TMPDIR" [ -z "$(ls -A "$T/outtmp")" ]
check "an earlier run's results are left as they were" grep -q '"kept":true' "$T/earlier/results.json"

mkdir -p "$T/empty" "$T/tmp"
TMPDIR="$T/tmp" EDGEBENCH_PG_ROOT="$T/empty" "$EB" lab --regions lhr --out "$T/o1" >/dev/null 2>"$T/nopg.err"
rc=$?
check "no PostgreSQL: exit 1 ($rc)" [ "$rc" -eq 1 ]
check "no PostgreSQL: says what to install" grep -q "apt-get install postgresql" "$T/nopg.err"
check "no PostgreSQL: mentions scripts/deps.sh run" grep -q "scripts/deps.sh run" "$T/nopg.err"
check "no PostgreSQL: nothing left in TMPDIR" [ -z "$(ls -A "$T/tmp")" ]

TMPDIR="$T/tmp" "$EB" lab --regions lhr --db "host=$T/sock dbname=x" --out "$T/o2" >/dev/null 2>"$T/unix.err"
rc=$?
check "--db with a unix socket: exit 2 ($rc)" [ "$rc" -eq 2 ]
check "--db with a unix socket: says TCP" grep -q "TCP host" "$T/unix.err"
"$EB" lab --regions lhr --db "postgresql://u:s3cr3tpw@[" --out "$T/o3" >/dev/null 2>"$T/url.err"
check "--db malformed: the password is not echoed" bash -c "! grep -q s3cr3tpw '$T/url.err'"

lab_needs

# An ordinary user: PostgreSQL runs as that user, no root needed.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  mkdir -p "$T/nb/tmp"
  chmod -R 777 "$T/nb"
  (cd "$T/nb" && TMPDIR="$T/nb/tmp" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$EB" lab --regions lhr --iterations 2 >"$T/nb.out" 2>"$T/nb.err")
  rc=$?
  check "as uid 65534: lab exits 0 ($rc) $(tail -n 3 "$T/nb.err")" [ "$rc" -eq 0 ]
  check "as uid 65534: default --out is results-YYYYmmdd-HHMMSS" \
    bash -c "ls -d '$T/nb'/results-[0-9]*-[0-9]* >/dev/null"
  check "as uid 65534: the results directory is printed" grep -qE "results-[0-9]{8}-[0-9]{6}" "$T/nb.err" "$T/nb.out"
  check "as uid 65534: temporary directory removed" [ -z "$(ls -A "$T/nb/tmp")" ]
fi

# --db where nothing listens: the message says --db and shows db init's own
# words, not a path to a log the lab deletes at exit.
TMPDIR="$T/tmp" "$EB" lab --regions lhr --overlay none --iterations 2 \
  --db "postgresql://postgres@127.0.0.1:1/contacts" --out "$T/o5" >/dev/null 2>"$T/dbdown.err"
rc=$?
check "--db unreachable: exit 1 ($rc)" [ "$rc" -eq 1 ]
check "--db unreachable: says --db" grep -q -- "--db: cannot use the database at 127.0.0.1 port 1" "$T/dbdown.err"
check "--db unreachable: shows db init's output" grep -q "cannot connect" "$T/dbdown.err"
check "--db unreachable: no path into the deleted log directory" bash -c "! grep -q 'logs/db-init.log' '$T/dbdown.err'"
check "--db unreachable: temporary directory removed" [ -z "$(ls -A "$T/tmp")" ]
check "--db unreachable: the empty --out it made is gone" [ ! -e "$T/o5" ]

# --db: an existing server; only the edge side is emulated.
pg_start
psqlc -c "create database contacts" >/dev/null
before=$(psqlc -d contacts -c "select count(*) from pg_tables where tablename = 'contacts'")
TMPDIR="$T/tmp" "$EB" lab --regions lhr,iad --iterations 3 \
  --db "postgresql://postgres@127.0.0.1:$PGPORT/contacts" --out "$T/o4" >"$T/db.out" 2>"$T/db.err"
rc=$?
check "--db: lab exits 0 ($rc) $(tail -n 3 "$T/db.err")" [ "$rc" -eq 0 ]
rows=$(psqlc -d contacts -c "select count(*) from contacts" 2>/dev/null)
check "--db: rows landed in the existing server ($rows)" [ "${rows:-0}" -ge 6 ]
check "--db: the server is still running" psqlc -c "select 1"
check "--db: temporary directory removed" [ -z "$(ls -A "$T/tmp")" ]
