#!/usr/bin/env bash
# Connections and `edgebench db`: SCRAM passwords full of quoting characters,
# an empty password that must not swallow the database name, DATABASE_URL
# winning over DB_*, db init (idempotent, least privilege, a clear message
# without CREATEROLE), db clean, and every diagnosis of db check.
. "$(dirname "$0")/../lib/harness.sh"
pg_start
PW='p a"s'"'"'s\=w'
psqlc >/dev/null <<SQL
create database contacts;
create database bench2;
create database emptydb;
create role admin login createrole password 'p a"s''s\\=w';
alter database contacts owner to admin;
alter database emptydb owner to admin;
create role nopw login;
alter database bench2 owner to nopw;
create role plain login password 'plain pw';
create role nohba login password 'x';
SQL
cat >"$PGDIR/data/pg_hba.conf" <<'HBA'
local all all trust
host all nopw 127.0.0.1/32 trust
host all admin,plain,edgebench,limited,postgres 127.0.0.1/32 scram-sha-256
HBA
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" reload >/dev/null
sleep 0.3
adm() { psql -h "$PGDIR" -p "$PGPORT" -U postgres -AtX "$@"; }
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT
unset DATABASE_URL PGPASSWORD

# --- db init -----------------------------------------------------------------------------
DB_USER=admin DB_PASSWORD="$PW" DB_NAME=contacts EDGEBENCH_ROLE_PASSWORD='role pw "q" \ =' \
  "$EB" db init >"$T/init1.txt" 2>&1
rc=$?
check "db init with a password full of quotes and backslashes ($rc)" test $rc -eq 0
check "db init says what it created" bash -c 'grep -q "created table contacts" "$1" && grep -q "created role edgebench" "$1" && grep -q "granted" "$1"' _ "$T/init1.txt"
DB_USER=admin DB_PASSWORD="$PW" DB_NAME=contacts "$EB" db init >"$T/init2.txt" 2>&1
rc=$?
check "db init again: idempotent ($rc)" bash -c '[ $2 -eq 0 ] && grep -q "already exists" "$1"' _ "$T/init2.txt" "$rc"
check "db init: exactly the seed's columns" test "$(adm -d contacts -c "select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_name='contacts'")" = "id,name,email,notes,created_at"
priv() { adm -d contacts -c "select has_table_privilege('edgebench','contacts','$1')"; }
check "role: SELECT and INSERT" test "$(priv SELECT)$(priv INSERT)" = tt
check "role: no UPDATE, DELETE, TRUNCATE" test "$(priv UPDATE)$(priv DELETE)$(priv TRUNCATE)" = fff
check "role: USAGE on the sequence" test "$(adm -d contacts -c "select has_sequence_privilege('edgebench', pg_get_serial_sequence('contacts','id'), 'USAGE')")" = t
check "role: not a superuser, cannot create roles or databases" test "$(adm -c "select rolsuper or rolcreaterole or rolcreatedb from pg_roles where rolname='edgebench'")" = f
check "password not printed by db init" bash -c '! grep -qF "role pw" "$1" "$2"' _ "$T/init1.txt" "$T/init2.txt"
DB_USER=plain DB_PASSWORD='plain pw' DB_NAME=emptydb "$EB" db init --role other >"$T/init3.txt" 2>&1
rc=$?
check "db init without privilege: exit 1 with a plain message ($rc)" bash -c '[ $2 -ne 0 ] && grep -q "fix:" "$1"' _ "$T/init3.txt" "$rc"
check "db init without privilege: nothing left behind" test "$(adm -d emptydb -c "select count(*) from pg_class where relname='contacts'")" = 0

adm -c "create role owner2 login password 'o2'" >/dev/null
adm -c "create database owned2 owner owner2" >/dev/null
printf 'host all owner2 127.0.0.1/32 scram-sha-256\n' >>"$PGDIR/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" reload >/dev/null; sleep 0.3
DB_USER=owner2 DB_PASSWORD=o2 DB_NAME=owned2 "$EB" db init --no-role >"$T/init5.txt" 2>&1
rc=$?
check "db init --no-role creates the table only ($rc)" bash -c '[ $2 -eq 0 ] && grep -q "created table" "$1" && ! grep -q "role" "$1"' _ "$T/init5.txt" "$rc"
DB_USER=owner2 DB_PASSWORD=o2 DB_NAME=owned2 "$EB" db init --role fresh >"$T/init4.txt" 2>&1
rc=$?
check "db init by a table owner without CREATEROLE: says so, with the fix ($rc)" \
  bash -c '[ $2 -eq 1 ] && grep -q "CREATEROLE" "$1" && grep -q -- "--no-role" "$1"' _ "$T/init4.txt" "$rc"

# --- the benchmark role with its SCRAM password, via the backend ----------------------------
P=$(free_port)
spawn env PORT=$P FLY_REGION=cdg DB_USER=edgebench DB_PASSWORD='role pw "q" \ =' DB_NAME=contacts \
  "$EB" backend --listen 127.0.0.1 2>"$T/backend.log"
wait_http "http://127.0.0.1:$P/healthz" || die "backend did not start"
J=$(curl -s "http://127.0.0.1:$P/api/rds/benchmark?iterations=4&warmup=1&read=pk")
check "least-privilege role with a quoted password runs the benchmark" jqt '.insert_samples==4 and .read_samples==4 and .insert_errors==0' "$J"
check "rows landed in the named database" test "$(adm -d contacts -c "select count(*) from contacts where notes='edgebench:cdg'")" = 4
check "password not in the response or the log" bash -c '! grep -qF "role pw" "$1" && ! grep -qF "role pw" <<<"$2"' _ "$T/backend.log" "$J"

# --- empty password: the database name must survive ------------------------------------------
adm -d bench2 -c "create table contacts (id serial primary key, name varchar(255) not null, email varchar(255), notes text, created_at timestamp default current_timestamp)" >/dev/null
adm -d bench2 -c "alter table contacts owner to nopw" >/dev/null
P2=$(free_port)
spawn env PORT=$P2 DB_USER=nopw DB_PASSWORD= DB_NAME=bench2 FLY_REGION=fra "$EB" backend --listen 127.0.0.1 2>"$T/b2.log"
wait_http "http://127.0.0.1:$P2/healthz" || die "backend 2 did not start"
J=$(curl -s "http://127.0.0.1:$P2/api/rds/benchmark?iterations=3&warmup=0")
check "empty password: benchmark works" jqt '.insert_samples==3' "$J"
check "empty password: rows in bench2, the database named" test "$(adm -d bench2 -c "select count(*) from contacts where notes='edgebench:fra'")" = 3

# --- DATABASE_URL wins over DB_* -------------------------------------------------------------
enc=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PW")
DATABASE_URL="postgresql://admin:$enc@127.0.0.1:$PGPORT/contacts" DB_HOST=192.0.2.1 DB_USER=nobody \
  "$EB" db check >"$T/url.txt" 2>&1
rc=$?
check "DATABASE_URL wins over DB_* ($rc)" bash -c '[ $2 -eq 0 ] && grep -q "database contacts, as admin" "$1"' _ "$T/url.txt" "$rc"

# --- db clean ------------------------------------------------------------------------------
n=$(adm -d contacts -c "select count(*) from contacts where notes like 'edgebench:%'")
adm -d contacts -c "insert into contacts (name, notes) values ('keep me', 'not ours')" >/dev/null
out=$(DB_USER=admin DB_PASSWORD="$PW" DB_NAME=contacts "$EB" db clean 2>&1)
check "db clean prints how many rows it deleted ($out)" grep -q "deleted $n benchmark rows" <<<"$out"
check "db clean leaves other rows" test "$(adm -d contacts -c "select count(*) from contacts")" = 1

# --- db check -----------------------------------------------------------------------------
dbcheck() { "$EB" db check >"$T/check.txt" 2>&1; echo $?; }
rc=$(DB_USER=admin DB_PASSWORD="$PW" DB_NAME=contacts dbcheck)
check "db check: all good ($rc)" bash -c '[ $2 = 0 ] && grep -q "all good" "$1"' _ "$T/check.txt" "$rc"
rc=$(DB_PORT=$(free_port) DB_USER=admin DB_PASSWORD="$PW" dbcheck)
check "db check: unreachable port named, with the fix ($rc)" bash -c '[ $2 = 1 ] && grep -q "nothing answered" "$1" && grep -q "DB_HOST and DB_PORT" "$1"' _ "$T/check.txt" "$rc"
rc=$(DB_USER=admin DB_PASSWORD=wrong dbcheck)
check "db check: authentication failure, with the fix" bash -c '[ $2 = 1 ] && grep -q "authentication failed" "$1" && grep -q "DB_PASSWORD" "$1"' _ "$T/check.txt" "$rc"
rc=$(DB_USER=nohba DB_PASSWORD=x dbcheck)
check "db check: no pg_hba.conf entry, no encryption -> DB_SSLMODE=require" bash -c '[ $2 = 1 ] && grep -q "no encryption" "$1" && grep -q "DB_SSLMODE=require" "$1"' _ "$T/check.txt" "$rc"
rc=$(DB_USER=admin DB_PASSWORD="$PW" DB_NAME=emptydb dbcheck)
check "db check: missing table -> run edgebench db init" bash -c '[ $2 = 1 ] && grep -q "contacts is missing" "$1" && grep -q "edgebench db init" "$1"' _ "$T/check.txt" "$rc"
adm -c "create role limited login password 'lim'" >/dev/null
rc=$(DB_USER=limited DB_PASSWORD=lim DB_NAME=contacts dbcheck)
check "db check: missing privileges, with the GRANT to run" bash -c '[ $2 = 1 ] && grep -q "lacks .*INSERT on contacts" "$1" && grep -q "GRANT" "$1"' _ "$T/check.txt" "$rc"
rc=$(DB_USER=admin DB_PASSWORD="$PW" DB_NAME=nosuchdb dbcheck)
check "db check: missing database" bash -c '[ $2 = 1 ] && grep -q "DB_NAME" "$1"' _ "$T/check.txt" "$rc"
check "db: usage errors exit 2" bash -c '"$1" db bogus >/dev/null 2>&1; [ $? = 2 ] && { env -u DB_HOST "$1" db check >/dev/null 2>&1; [ $? = 2 ]; }' _ "$EB"
out=$(env -u DB_HOST -u DATABASE_URL "$EB" db frob 2>&1); rc=$?
check "db frob without a database: unknown action first ($rc: $out)" bash -c '[ $1 = 2 ] && grep -q "unknown action .frob." <<<"$2"' _ "$rc" "$out"
out=$(env -u DB_HOST DATABASE_URL='postgresql://u:hunter2@[::1' "$EB" db check 2>&1); rc=$?
check "db: malformed DATABASE_URL -> exit 2 naming it, never echoing it ($rc: $out)" \
  bash -c '[ $1 = 2 ] && grep -q DATABASE_URL <<<"$2" && ! grep -q hunter2 <<<"$2"' _ "$rc" "$out"
out=$(DB_SSLROOTCERT=/nonexistent/ca.pem "$EB" db check 2>&1); rc=$?
check "db: missing DB_SSLROOTCERT file -> exit 2 naming it ($rc: $out)" \
  bash -c '[ $1 = 2 ] && grep -q "/nonexistent/ca.pem" <<<"$2"' _ "$rc" "$out"
