# shellcheck shell=bash
# free_port: prints a TCP port on 127.0.0.1 that no socket uses, for a test's listener. Sourced by
# tests/e2e/lib.sh and tests/integration/lib.sh.
#
# Why not just "nobody listens there": ports in the kernel's ephemeral range are also taken as the
# local end of outgoing connections (a mysql or aws client of a test that just ran), and such a
# socket makes bind() fail with EADDRINUSE even with SO_REUSEADDR, as a CI run showed. So the port
# comes from below that range, with room above it for the ports rewindd hands out upward from a
# first port, and is checked against every TCP socket in /proc/net/tcp{,6}.

# port_in_use PORT: true if any TCP socket (listening or connected, v4 or v6) has it as local port.
port_in_use() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v h="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == h) { found = 1; exit } }
                   END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() {
  local lo hi first last p
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
  first=20000 last=$((lo - 200))
  if [ "$last" -lt $((first + 1000)) ]; then first=$((hi + 1)) last=65000; fi  # unusual range
  for _ in $(seq 1 200); do
    p=$((first + RANDOM % (last - first)))
    if ! port_in_use "$p"; then echo "$p"; return 0; fi
  done
  echo "free_port: no free port in $first..$last" >&2
  return 1
}
