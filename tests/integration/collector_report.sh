#!/usr/bin/env bash
# edgebench report: golden Markdown and CSV from a fixed results.json, the SVG
# is valid XML, the HTML renders in headless Chromium without console errors,
# JSON round trip, comparison of two runs, foreign and malformed input rejected.
. "$(dirname "$0")/../lib/harness.sh"
D=$EB_SRC/tests/data/collector
FIX=$D/results-fixed.json

"$EB" report "$FIX" --format md >"$T/got.md"
check "golden Markdown" diff -u "$D/golden.md" "$T/got.md"
"$EB" report "$FIX" --format csv >"$T/got.csv"
check "golden CSV" diff -u "$D/golden.csv" "$T/got.csv"
"$EB" report "$FIX" --format svg >"$T/got.svg"
check "golden SVG" diff -u "$D/golden.svg" "$T/got.svg"
check "SVG is valid XML (xmllint)" xmllint --noout "$T/got.svg"
check "SVG title names the database site and date" grep -q "database eu-west-1 · 2026-12-01" "$T/got.svg"
check "SVG rows in rank order, failed last" \
  bash -c "grep -o 'class=\"code\">[^<]*' '$T/got.svg' | awk '{print \$NF}' | tr '\n' ' ' | grep -qx 'lhr iad syd nrt fra '"

# JSON written by edgebench re-renders byte for byte
"$EB" report "$FIX" --format json >"$T/a.json"
"$EB" report "$T/a.json" --format json >"$T/b.json"
check "JSON round trip is byte-identical" cmp -s "$T/a.json" "$T/b.json"
"$EB" report "$T/a.json" --format md | diff -q - "$D/golden.md" >/dev/null
check "md from re-written JSON unchanged" [ $? -eq 0 ]

# --out writes every format; --stat overrides
"$EB" report "$FIX" --out "$T/out" >/dev/null
for f in results.json results.csv results.md results.svg report.html; do
  check "report --out writes $f" test -s "$T/out/$f"
done
"$EB" report "$FIX" --stat min --rank-by read >"$T/min.md"
check "--stat min names the statistic in the header" grep -q "Insert min (ms) | Read min (ms)" "$T/min.md"

# comparison
python3 - "$FIX" "$T/after.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["options"]["mode"] = "compat2rtt"
for r in d["regions"]:
    if r["status"] == "ok":
        r["insert_avg_ms"] *= 2
json.dump(d, open(sys.argv[2], "w"))
PY
"$EB" report "$FIX" "$T/after.json" >"$T/cmp.md"; rc=$?
check "comparison exits 0" [ $rc -eq 0 ]
check "comparison has both runs' columns" grep -q "Insert avg A (ms) | Insert avg B (ms) | Insert change B" "$T/cmp.md"
check "comparison shows the change per region" grep -q "| lhr | London | 25.22 | 50.44 | +25.22 (+100.0%) |" "$T/cmp.md"
check "comparison names the runs" grep -q "mode compat2rtt" "$T/cmp.md"
"$EB" report "$FIX" "$T/after.json" --format svg >/dev/null 2>&1
check "comparison in SVG is a usage error" [ $? -eq 2 ]

# rejected input: exit 2, like a bad targets file for run
"$EB" report "$T/nonexistent.json" >/dev/null 2>"$T/err"; rc=$?
check "missing file: exit 2 ($rc)" [ $rc -eq 2 ]
check "missing file: cannot open, with the reason" \
  grep -qx "edgebench report: cannot open $T/nonexistent.json: No such file or directory" "$T/err"
"$EB" report "$T" >/dev/null 2>"$T/err"; rc=$?
check "directory: exit 2 ($rc)" [ $rc -eq 2 ]
check "directory: named as a directory" grep -q "^edgebench report: $T is a directory" "$T/err"
check "neither is called invalid JSON" bash -c "! grep -q 'not valid JSON' '$T/err'"
echo '{"a":1}' >"$T/foreign.json"
"$EB" report "$T/foreign.json" >/dev/null 2>"$T/err"; rc=$?
check "foreign JSON rejected (exit 2)" [ $rc -eq 2 ]
check "foreign JSON message" grep -q "not an edgebench results file" "$T/err"
printf '{"tool":"edgebench","format":1,"regions":[' >"$T/trunc.json"
"$EB" report "$T/trunc.json" >/dev/null 2>"$T/err"; rc=$?
check "truncated JSON rejected with the line" bash -c "[ $rc -eq 2 ] && grep -q 'not valid JSON (line 1' '$T/err'"
: >"$T/plainfile"
"$EB" report "$FIX" --out "$T/plainfile" >/dev/null 2>"$T/err"; rc=$?
check "report --out FILE: exit 2 naming it" bash -c "[ $rc -eq 2 ] && grep -q 'plainfile exists and is not a directory' '$T/err'"
check "golden: Link RTT column and its source under the table" \
  bash -c "grep -q '| Link RTT (ms) |' '$D/golden.md' && grep -qx \"Link RTT: the seed's published read column.\" '$D/golden.md'"
echo '{"tool":"edgebench","format":1,"regions":[{"region":"lhr","status":"fine"}]}' >"$T/bad.json"
"$EB" report "$T/bad.json" >/dev/null 2>"$T/err"
check "bad status named" grep -q 'regions\[0\].status' "$T/err"
echo '{"tool":"edgebench","format":7,"regions":[]}' >"$T/new.json"
"$EB" report "$T/new.json" >/dev/null 2>"$T/err"
check "newer format named" grep -q "format 7" "$T/err"
"$EB" report >/dev/null 2>&1
check "no file is a usage error" [ $? -eq 2 ]
"$EB" report "$FIX" --format pdf >/dev/null 2>&1
check "unknown format is a usage error" [ $? -eq 2 ]

# the HTML: self-contained, renders, no console errors
H=$T/out/report.html
check "HTML references nothing outside itself" \
  bash -c "! grep -Eo '(src|href)=\"[^\"]*\"' '$H' | grep -v 'href=\"data:,\"' | grep -q ."
check "HTML embeds the bar chart and the distribution plot" \
  bash -c "grep -q 'class=\"eb-chart\"' '$H' && grep -q 'distribution of the raw samples' '$H'"
if command -v chromium >/dev/null; then
  prof=$(mktemp -d "$T/chrome.XXXXXX")
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
    --enable-logging=stderr --v=0 --window-size=1000,1800 --screenshot="$T/shot.png" \
    "file://$H" >/dev/null 2>"$T/chrome.log"
  check "Chromium took a screenshot" test -s "$T/shot.png"
  check "screenshot is not blank" python3 "$EB_SRC/tests/lib/png_nonblank.py" "$T/shot.png"
  check "no console messages or errors" bash -c "! grep -E 'CONSOLE|Uncaught' '$T/chrome.log'"
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
    --dump-dom "file://$H" >"$T/dom.html" 2>/dev/null
  check "the table rendered into the DOM" grep -q '<table class="sortable" id="results">' "$T/dom.html"
else
  fail "chromium is not installed (scripts/deps.sh test)"
fi
