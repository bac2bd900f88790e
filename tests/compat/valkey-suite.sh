#!/usr/bin/env bash
# Runs Valkey's own Tcl test suite (tests/compat/valkey, BSD, see its README)
# against shoal, or against any server already listening.
#
#   tests/compat/valkey-suite.sh                      # starts $SHOAL_BIN (default dist/shoal), runs the default files
#   tests/compat/valkey-suite.sh --port 6379 --label redis --no-skip   # the same files against a running redis-server
#   tests/compat/valkey-suite.sh unit/type/hash       # one file
#
# Options: --port P (use a running server; no node is started), --host H,
# --label NAME (for the report), --skip-list FILE (default
# tests/compat/valkey-skip.txt: tests that cannot apply to shoal, each under a
# "# reason" line), --no-skip, --keep DIR (copy the per-file logs there).
#
# Prints each file's counts and every failed test with its reason, then bun-style
# totals (" N pass", " N fail", " N skip") that .ci/run counts. Exits 1 when a test
# that is not in the skip list fails, or when the started node does not answer
# PING afterwards; 2 on bad usage or a missing prerequisite.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
host=127.0.0.1 port="" label=shoal keep="" skip_list="$here/valkey-skip.txt" use_skip=1
files=()
while [ $# -gt 0 ]; do
  case $1 in
    --host) host=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --skip-list) skip_list=$2; shift 2 ;;
    --no-skip) use_skip=0; shift ;;
    -h | --help) sed -n 2,20p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "valkey-suite: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=(unit/type/string unit/type/incr unit/expire unit/keyspace unit/pubsub unit/protocol unit/quit
  unit/scan unit/info-command unit/introspection unit/other unit/type/hash unit/multi unit/auth unit/acl unit/type/set)
command -v tclsh >/dev/null || { echo "valkey-suite: needs tclsh (apt-get install -y tcl)" >&2; exit 2; }
for f in "${files[@]}"; do
  [ -f "$here/valkey/$f.tcl" ] || { echo "valkey-suite: no such test file $f (tests/compat/valkey/$f.tcl)" >&2; exit 2; }
done

work=$(mktemp -d -t valkey-suite.XXXXXX)
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

ping() { timeout 5 bash -c "exec 3<>/dev/tcp/$host/$1 && printf 'PING\r\n' >&3 && head -c 7 <&3" 2>/dev/null | grep -q PONG; }

if [ -z "$port" ]; then
  bin=${SHOAL_BIN:-$root/dist/shoal}
  [ -x "$bin" ] || { echo "valkey-suite: no shoal binary at $bin (npm run build, or set SHOAL_BIN)" >&2; exit 2; }
  read -r port http peer < <(bun -e '
    const ports = [];
    const held = [];
    for (let i = 0; i < 3; i++) { const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); held.push(s); ports.push(s.port); }
    for (const s of held) s.stop(true);
    console.log(ports.join(" "));')
  "$bin" serve --bind "$host" --port "$port" --http-port "$http" --peer-port "$peer" --log-level warn >"$work/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 100); do ping "$port" && break; sleep 0.1; done
  ping "$port" || { echo "valkey-suite: shoal did not answer PING on $host:$port"; cat "$work/node.log"; exit 2; }
  echo "valkey-suite: $bin serving on $host:$port (pid $node_pid)"
fi

cp -r "$here/valkey" "$work/tests" && chmod -R u+w "$work/tests" && mkdir -p "$work/tests/tmp"
skip_args=()
if [ "$use_skip" = 1 ] && [ -f "$skip_list" ]; then
  grep -v '^#' "$skip_list" | grep -v '^[[:space:]]*$' > "$work/skipfile" || true
  skip_args=(--skipfile "$work/skipfile")
fi

cd "$work" || exit 2
passed=0 failed=0 skipped=0
for f in "${files[@]}"; do
  log=$work/$(echo "$f" | tr / _).log
  timeout 600 tclsh tests/test_helper.tcl --host "$host" --port "$port" --singledb --durable \
    --ignore-encoding --ignore-digest --tags "-needs:debug -needs:repl -needs:save -needs:reset" \
    "${skip_args[@]}" --single "$f" >"$log" 2>&1
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | tr -d '\0')
  ok=$(grep -c '^\[ok\]' <<<"$plain")
  err=$(grep -c '^\[err\]' <<<"$plain")
  exc=$(grep -c '^\[exception\]' <<<"$plain")
  skip=$(grep -c '^\[skip\]' <<<"$plain")
  printf '%-24s %-8s %4s ok %4s err %4s skip %s\n' "$f" "$label" "$ok" "$err" "$skip" "$([ "$exc" -gt 0 ] && echo "($exc exception: file ended early)")"
  grep -A1 '^\[err\]\|^\[exception\]' <<<"$plain" | grep -v '^--$' | paste - - | cut -c1-240 | sed 's/^/    /'
  if [ $((ok + err + exc + skip)) -eq 0 ] && ! grep -q 'All tests passed' <<<"$plain"; then
    # nothing ran: the harness itself failed (a busy port, a Tcl error): say why and count it
    echo "    [err]: $f did not run: $(tail -3 <<<"$plain" | tr '\n' ' ' | cut -c1-200)"
    err=1
  fi
  passed=$((passed + ok)); failed=$((failed + err + exc)); skipped=$((skipped + skip))
done
[ -n "$keep" ] && { mkdir -p "$keep"; cp "$work"/*.log "$keep"/; }
if [ -n "$node_pid" ]; then
  if ping "$port"; then echo "valkey-suite: the node still answers PING after the suite"
  else echo "valkey-suite: the node does not answer PING after the suite (log: $(tail -5 "$work/node.log"))"; failed=$((failed + 1)); fi
fi
echo "$label: $passed passed, $failed failed, $skipped skipped"
printf ' %d pass\n %d fail\n %d skip\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
