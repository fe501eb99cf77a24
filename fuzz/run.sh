#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each and exits
# non-zero if any of them crashed, leaked, timed out or ran out of memory.
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# Each target reads its seeds (fuzz/seeds.list, fuzz/seeds/NAME/), its kept
# crash inputs (fuzz/regressions/NAME/) and the corpus it grew before
# (BUILD_DIR/corpus/NAME/, where new inputs go). A crashing input is written
# to BUILD_DIR/artifacts/NAME/; once fixed, copy it to fuzz/regressions/NAME/
# so the test suite replays it. The last line per target gives the number
# of executions ("execs").
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${PRESYNC_SHARED_DIR:-$repo/../shared}
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
build=$(cd "$build" && pwd)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi

# Copies the seeds of target $1 from fuzz/seeds.list into $2.
stage_seeds() {
  local name=$1 dest=$2 target pattern
  rm -rf "$dest" && mkdir -p "$dest"
  while read -r target pattern; do
    [ "$target" = "$name" ] || continue
    case $pattern in
      shared/*) pattern=$shared/${pattern#shared/} ;;
      *) pattern=$repo/$pattern ;;
    esac
    for f in $pattern; do
      [ -f "$f" ] && cp "$f" "$dest/$(echo "${f#"$repo"/}" | tr '/' '_')"
    done
  done < <(sed -e 's/#.*//' -e '/^\s*$/d' "$here/seeds.list")
}

failed=()
summary=()
for name in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$name
  if [ ! -x "$exe" ]; then
    echo "fuzz: no target $name in $build/fuzz" >&2
    failed+=("$name")
    continue
  fi
  corpus=$build/corpus/$name
  seeds=$build/seeds/$name
  artifacts=$build/artifacts/$name
  mkdir -p "$corpus" "$artifacts" "$here/seeds/$name" "$here/regressions/$name"
  stage_seeds "$name" "$seeds"
  log=$build/logs/$name.log
  mkdir -p "$(dirname "$log")"

  echo "== fuzz $name for ${seconds}s"
  # detect_leaks: a leak is a finding too; -timeout: one input may take
  # at most 10 s; -rss_limit_mb: the machine is shared.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "$seeds" "$here/seeds/$name" "$here/regressions/$name" \
      > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
            grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  if [ $rc -ne 0 ]; then
    failed+=("$name")
    echo "fuzz: $name FAILED (exit $rc); the report:" >&2
    grep -A40 -m1 'ERROR:\|runtime error\|deadly signal\|terminate called' \
      "$log" >&2 || tail -40 "$log" >&2
    ls "$artifacts" >&2
  fi
  summary+=("$(printf '%-16s %-6s execs %-10s cov %s' "$name" \
    "$([ $rc -eq 0 ] && echo ok || echo CRASH)" "${execs:-?}" "${cov:-?}")")
done

echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
