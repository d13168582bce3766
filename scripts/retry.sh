# Sourced by the scripts that fetch from the npm registry: `retry N CMD…` runs CMD up to N times, waiting
# 5, 10, … seconds between attempts. A registry connection reset mid-download (ECONNRESET) failed a whole CI
# run at its second minute; a second attempt is what a person would do.
retry() {
  local attempts="$1" n=1
  shift
  until "$@"; do
    if ((n >= attempts)); then
      printf '[retry] %s failed %s times\n' "$1" "$attempts" >&2
      return 1
    fi
    printf '[retry] %s failed (attempt %s of %s); again in %s s\n' "$1" "$n" "$attempts" "$((5 * n))" >&2
    sleep "$((5 * n))"
    n=$((n + 1))
  done
}
