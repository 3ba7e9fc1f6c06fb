#!/usr/bin/env bash
# Optional: the real ip-location-db database. Set EB_GEOIP_MMDB to the
# geo-whois-asn-country.mmdb of the npm package
# @ip-location-db/geo-whois-asn-country-mmdb (see docs/proxy.md); without it
# this test skips (the suite never downloads anything).
. "$(dirname "$0")/../lib/harness.sh"
if [ -z "${EB_GEOIP_MMDB:-}" ] || [ ! -f "$EB_GEOIP_MMDB" ]; then
  echo "skip: EB_GEOIP_MMDB is not set to a MaxMind DB file"
  exit 77
fi
out=$("$EB" proxy lookup --geoip "$EB_GEOIP_MMDB" 8.8.8.8 133.242.0.3 ::ffff:8.8.8.8 127.0.0.1)
check "8.8.8.8 is US" grep -q "^8.8.8.8 US " <<<"$out"
check "133.242.0.3 is JP" grep -q "^133.242.0.3 JP " <<<"$out"
check "IPv4-mapped IPv6 looked up as IPv4" grep -q "^::ffff:8.8.8.8 US " <<<"$out"
check "loopback is unknown" grep -q "^127.0.0.1 --$" <<<"$out"
LP=$(free_port)
check "the proxy starts with it" bash -c "
  '$EB' proxy routes add --routes '$T/r.db' --region lhr --address 127.0.0.1 --port 9 >/dev/null
  timeout 3 '$EB' proxy --listen 127.0.0.1:$LP --routes '$T/r.db' --geoip '$EB_GEOIP_MMDB' --health none 2>&1 | grep -q 'listening on'"
