# shellcheck shell=bash
# The benches' command lines, sourced before anything starts. Each bench defines usage() first.

# bench_int_flags PROG "FLAG=VAR ..." ARGS...: for each "FLAG N" in ARGS sets VAR to N, a
# positive integer; -h/--help prints usage and exits 0; anything else prints the error and usage
# and exits 2.
bench_int_flags() {
  local prog=$1 pair
  declare -A var=()
  for pair in $2; do var[${pair%%=*}]=${pair#*=}; done
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in -h|--help) usage; exit 0 ;; esac
    if [ -z "${var[$1]:-}" ]; then echo "$prog: unknown argument '$1'" >&2; usage; exit 2; fi
    if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
      echo "$prog: $1 needs a positive integer, got '${2:-}'" >&2; usage; exit 2
    fi
    printf -v "${var[$1]}" '%s' "$2"
    shift 2
  done
}

# bench_need PROG TOOL...: exits 1 naming the first TOOL not on PATH.
bench_need() {
  local prog=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$prog: missing $tool" >&2; exit 1; }
  done
}
