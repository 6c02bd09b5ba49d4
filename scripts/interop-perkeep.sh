#!/usr/bin/env bash
# Drives Perkeep's own clients against a fresh local server and checks what they get back.
#
#   PK_PUT=/path/to/pk-put PK_GET=/path/to/pk-get [PK=/path/to/pk] scripts/interop-perkeep.sh
#
# The binaries are not part of this repository: build them from Perkeep's sources yourself
# (`go build ./cmd/pk-put ./cmd/pk-get ./cmd/pk` in a Perkeep checkout). With PK set, the
# enumeration steps (`pk list`, `pk sync`) run too. Everything happens in a temporary
# directory: server data, client config, client caches. Exit status 0 means every check passed.
# It also cross-checks this repository's `blobserver` CLI against pk-put file / pk-get.
set -euo pipefail

: "${PK_PUT:?set PK_PUT to a pk-put binary}"
: "${PK_GET:?set PK_GET to a pk-get binary}"
PK="${PK:-}"
for bin in "$PK_PUT" "$PK_GET" ${PK:+"$PK"}; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/pk-interop.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }

# --- the server: credentials, removal enabled, and a low inline-GET limit so that fetching
# real file chunks goes through the 307 -> presigned S3 URL path as large blobs do on Lambda.
password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
inline_limit=50000
(
  cd "$repo"
  BLOBSERVER_DATA_DIR="$work/data" PORT=0 BLOBSERVER_AUTH="userpass:interop:$password" \
    BLOBSERVER_ALLOW_REMOVE=true BLOBSERVER_MAX_INLINE_GET_SIZE=$inline_limit POWERTOOLS_LOG_LEVEL=ERROR \
    exec node --import tsx local/main.ts
) >"$work/server.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 120); do
  url="$(sed -n 's/^blobserver listening on \(http[^ ]*\).*/\1/p' "$work/server.log" | head -n1)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$url" ] || { echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "server: $url (data in $work/data, inline GET limit $inline_limit bytes)"

# --- the clients: their config names the server and its credentials; HOME and the cache
# directory are private so no earlier run's blob cache can answer for the server.
mkdir -p "$work/config" "$work/home"
write_config() {
  cat >"$work/config/client-config.json" <<EOF
{
  "servers": {
    "interop": { "server": "$url", "auth": "userpass:interop:$1", "default": true }
  }
}
EOF
}
write_config "$password"
export CAMLI_CONFIG_DIR="$work/config" HOME="$work/home"
fresh_cache() { export XDG_CACHE_HOME="$work/cache.$RANDOM$RANDOM"; }
fresh_cache
sha224() { echo "sha224-$(sha224sum "$1" | cut -d' ' -f1)"; }

printf 'hello from pk-put, %s\n' "$(date -u +%FT%TZ)" >"$work/hello.txt"
head -c 3000000 /dev/urandom >"$work/big.bin"

step "pk-put blob: upload one blob (discovery, stat, POST /camli/upload)"
show pk-put blob hello.txt
ref="$("$PK_PUT" blob "$work/hello.txt" 2>"$work/err" || true)"; cat "$work/err"
echo "$ref"
if [ "$ref" = "$(sha224 "$work/hello.txt")" ]; then ok "pk-put printed the blob's sha224 ref"; else bad "pk-put printed '$ref'"; fi

step "pk-get: fetch it back (GET /camli/<ref>)"
show pk-get "$ref"
if "$PK_GET" "$ref" >"$work/hello.out" 2>"$work/err" && cmp -s "$work/hello.out" "$work/hello.txt"; then
  cat "$work/hello.out"; ok "same bytes"
else cat "$work/err"; bad "pk-get did not return the blob"; fi

step "pk-put blob again: the server already has it"
show pk-put blob hello.txt
again="$("$PK_PUT" blob "$work/hello.txt" 2>/dev/null || true)"
echo "$again"
if [ "$again" = "$ref" ]; then ok "same ref, no error"; else bad "second pk-put printed '$again'"; fi

step "pk-put file: a 3 MB file becomes chunk blobs plus a file schema blob"
show pk-put file big.bin
file_ref="$("$PK_PUT" file "$work/big.bin" 2>"$work/err" || true)"; grep -v 'storage generation' "$work/err" || true
echo "$file_ref"
case "$file_ref" in sha224-*) ok "file schema $file_ref" ;; *) bad "pk-put file printed '$file_ref'" ;; esac

step "pk-put file, twice, of a tree: the second run answers from the client's have-cache (keyed by discovery's storageGeneration)"
mkdir -p "$work/tree/sub"
for i in 1 2 3 4 5; do printf 'tree file %s %s\n' "$i" "$password" >"$work/tree/f$i"; printf 'sub file %s %s\n' "$i" "$password" >"$work/tree/sub/s$i"; done
show pk-put -verbose_http file tree
tree_ref="$(cd "$work" && "$PK_PUT" -verbose_http file tree 2>"$work/put1.log" || true)"
stats1="$(grep -c '/camli/stat' "$work/put1.log" || true)"
show pk-put -verbose_http file tree
tree_again="$(cd "$work" && "$PK_PUT" -verbose_http file tree 2>"$work/put2.log" || true)"
stats2="$(grep -c '/camli/stat' "$work/put2.log" || true)"
echo "$tree_ref; stat requests: first run $stats1, second run $stats2"
if grep -qi 'storage generation' "$work/put1.log" "$work/put2.log"; then grep -hi -m1 'storage generation' "$work/put1.log" "$work/put2.log"; bad "pk-put could not use the storage generation"; fi
case "$tree_ref" in
  sha224-*) if [ "$tree_again" = "$tree_ref" ] && [ "$stats1" -gt 0 ] && [ "$stats2" -eq 0 ]; then ok "same ref; the second pk-put made no stat request"; else bad "second pk-put printed '$tree_again' after $stats2 stat requests"; fi ;;
  *) bad "pk-put file tree printed '$tree_ref'" ;;
esac

step "pk-get -o: rebuild the file from its chunks (chunks above $inline_limit bytes come through a 307 to S3)"
fresh_cache
mkdir -p "$work/out"
show pk-get -verbose_http -o out "$file_ref"
if "$PK_GET" -verbose_http -o "$work/out" "$file_ref" >"$work/get.log" 2>&1 && cmp -s "$work/out/big.bin" "$work/big.bin"; then
  redirects="$(grep -c 'status 307' "$work/get.log" || true)"
  ok "big.bin rebuilt byte for byte; $redirects chunk fetches were redirected to presigned S3 URLs"
  [ "$redirects" -gt 0 ] || bad "no redirect was exercised"
else tail -n 20 "$work/get.log"; bad "pk-get -o failed"; fi

if [ -n "$PK" ]; then
  step "pk-put blob: 1100 more small blobs, so listing needs two of the client's 1000-blob pages"
  mkdir -p "$work/many"
  for i in $(seq 1 1100); do printf 'small blob %s %s\n' "$i" "$password" >"$work/many/$i"; done
  show pk-put blob many/1 ... many/1100
  "$PK_PUT" blob "$work"/many/* >"$work/many.out" 2>/dev/null || true
  if [ "$(sort -u "$work/many.out" | grep -c '^sha224-')" -eq 1100 ]; then ok "1100 refs printed"; else bad "$(wc -l <"$work/many.out") refs printed"; fi

  step "pk list: enumerate every blob (GET /camli/enumerate-blobs, following continueAfter)"
  show pk list --src=interop
  if "$PK" list --src=interop >"$work/list.out" 2>"$work/err"; then
    head -n 3 "$work/list.out"; echo "... ($(wc -l <"$work/list.out") blobs)"
    missing="$(cut -d' ' -f1 "$work/list.out" | sort | comm -13 - <(sort -u "$work/many.out") | wc -l)"
    if grep -q "^$ref " "$work/list.out" && grep -q "^$file_ref " "$work/list.out" && [ "$missing" -eq 0 ] \
      && LC_ALL=C sort -c "$work/list.out" 2>/dev/null && [ "$(cut -d' ' -f1 "$work/list.out" | sort -u | wc -l)" -eq "$(wc -l <"$work/list.out")" ]; then
      ok "every upload listed once, in blobref order"
    else bad "listing incomplete or unsorted"; fi
  else cat "$work/err"; bad "pk list failed"; fi

  step "pk sync: copy every blob into a local directory (enumerate + get)"
  show pk sync --src=interop --dest=mirror
  mkdir -p "$work/mirror"
  if "$PK" sync --src=interop --dest="$work/mirror" >"$work/sync.out" 2>&1; then
    copied="$(find "$work/mirror" -type f -name 'sha*' | wc -l)"
    listed="$(wc -l <"$work/list.out")"
    tail -n 2 "$work/sync.out"
    if [ "$copied" -eq "$listed" ]; then ok "$copied blobs copied"; else bad "$copied blobs copied, $listed listed"; fi
  else tail -n 5 "$work/sync.out"; bad "pk sync failed"; fi
fi

# --- this repository's own client against Perkeep's: same refs, and each restores the other's.
# The bin runs the compiled client (client/dist): build it from the current sources first.
(cd "$repo" && npm run build --silent) || { bad "npm run build failed"; exit 1; }
blobserver() { env -u BLOBSERVER_URL -u BLOBSERVER_AUTH node "$repo/client/bin/blobserver.js" "$@"; }
make_tree() {
  mkdir -p "$1/sub/deeper"
  printf 'small file %s\n' "$1" >"$1/a.txt"
  head -c 2500000 /dev/urandom >"$1/sub/big.bin"
  head -c 70000 /dev/urandom >"$1/sub/deeper/mid.bin"
  : >"$1/sub/empty"
  ln -s a.txt "$1/link"
}

step "blobserver put vs pk-put file: the same tree gives the same refs (client-config.json read by both)"
make_tree "$work/xtree"
show pk-put file xtree big.bin
pk_refs="$("$PK_PUT" file "$work/xtree" "$work/big.bin" 2>/dev/null || true)"
show blobserver put xtree big.bin
bs_refs="$(blobserver put "$work/xtree" "$work/big.bin" 2>"$work/err" || true)"; cat "$work/err"
echo "$bs_refs"
if [ -n "$bs_refs" ] && [ "$bs_refs" = "$pk_refs" ] && [ "$(echo "$bs_refs" | tail -n1)" = "$file_ref" ]; then ok "same directory and file refs as pk-put file"
else bad "refs differ: pk-put '$pk_refs' blobserver '$bs_refs'"; fi

step "pk-get restores what blobserver put stored"
make_tree "$work/ytree"
bs_ref="$(blobserver put "$work/ytree" 2>"$work/err" || true)"; cat "$work/err"
fresh_cache
mkdir -p "$work/yout"
show pk-get -o yout "$bs_ref"
if "$PK_GET" -o "$work/yout" "$bs_ref" >/dev/null 2>"$work/err" && diff -r "$work/ytree" "$work/yout/ytree" >/dev/null; then ok "pk-get rebuilt the tree"
else tail -n 5 "$work/err"; bad "pk-get could not rebuild blobserver's tree"; fi

step "blobserver get restores what pk-put stored"
make_tree "$work/ztree"
pk_ref="$("$PK_PUT" file "$work/ztree" 2>/dev/null || true)"
mkdir -p "$work/zout"
show blobserver get "$pk_ref" -o zout
if blobserver get "$pk_ref" -o "$work/zout" >/dev/null 2>"$work/err" && diff -r "$work/ztree" "$work/zout/ztree" >/dev/null; then ok "blobserver get rebuilt the tree"
else cat "$work/err"; bad "blobserver get could not rebuild pk-put's tree"; fi

step "uploadForm: a 16 MiB blob straight to S3 with curl -F (preupload, POST the form, follow the 303), then pk-get"
head -c 16777216 /dev/urandom >"$work/huge.bin"
huge_ref="$(sha224 "$work/huge.bin")"
curl -sS -u "interop:$password" -d camliversion=1 "$url/camli/preupload" >"$work/pre.json"
# Every field of uploadForm, unchanged (--form-string: no @file or ;type= interpretation), then the file.
form_url="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).uploadForm.url)' "$work/pre.json")"
mapfile -t form_fields < <(node -e 'for (const [k, v] of Object.entries(JSON.parse(require("fs").readFileSync(process.argv[1])).uploadForm.fields)) console.log(`--form-string\n${k}=${v}`)' "$work/pre.json")
show curl -L --form-string key=... "(every uploadForm field)" -F "file=@huge.bin;filename=$huge_ref" "$form_url"
curl -sS -L "${form_fields[@]}" -F "file=@$work/huge.bin;filename=$huge_ref" "$form_url" >"$work/complete.json" || true
cut -c1-160 "$work/complete.json"; echo
if grep -q "\"blobRef\":\"$huge_ref\",\"size\":16777216" "$work/complete.json"; then ok "the completion received $huge_ref"; else bad "the completion did not receive it"; fi
fresh_cache
show pk-get "$huge_ref"
if "$PK_GET" -verbose_http "$huge_ref" >"$work/huge.out" 2>"$work/huge.log" && cmp -s "$work/huge.out" "$work/huge.bin"; then
  ok "pk-get served the 16 MiB blob back byte for byte ($(grep -c 'status 307' "$work/huge.log" || true) redirect to S3)"
else tail -n 5 "$work/huge.log"; bad "pk-get did not return the 16 MiB blob"; fi

step "pk-put remove: delete the first blob (POST /camli/remove)"
show pk-put remove "$ref"
if "$PK_PUT" remove "$ref" 2>"$work/err"; then ok "removed"; else cat "$work/err"; bad "pk-put remove failed"; fi
fresh_cache
show pk-get "$ref"
if "$PK_GET" "$ref" >/dev/null 2>"$work/err"; then bad "pk-get still fetched the removed blob"; else
  head -n 1 "$work/err"; ok "pk-get no longer finds it"; fi

step "wrong credentials: refused"
write_config "not-the-password"
show pk-put blob hello.txt
# pk-put reports a failed put on stderr but may still exit 0: judge by what it printed.
refused_ref="$("$PK_PUT" blob "$work/hello.txt" 2>"$work/err" || true)"
grep -m1 'Error' "$work/err" || true
if [ -z "$refused_ref" ] && grep -q '401' "$work/err"; then ok "refused with 401, nothing uploaded"; else bad "upload not refused ('$refused_ref')"; fi

printf '\n'
if [ "$failures" -eq 0 ]; then echo "interop: all checks passed"; else echo "interop: $failures check(s) failed"; exit 1; fi
