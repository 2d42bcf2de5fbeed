#!/usr/bin/env bash
# llm-worker with mutual TLS and a bearer token: a client with a certificate
# from the trusted CA and the token is served; without the token it gets
# UNAUTHENTICATED; a certificate from another CA or a plaintext client is
# refused.
# Usage: worker_security_test.sh LLM_WORKER LLMW
set -uo pipefail
WORKER="$1"
LLMW="$2"
source "$(dirname "$0")/worker_test_lib.sh"
require_model

make_work_dir
cd "$work"

# make_ca NAME; make_cert NAME CA [SAN]
make_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
make_cert() {
  local san="${3:-}"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  if [[ -n "$san" ]]; then
    printf 'subjectAltName=%s\n' "$san" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
      -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  else
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
      -out "$1.pem" 2>/dev/null
  fi
}
make_ca ca
make_ca other-ca
make_cert server ca "IP:127.0.0.1,DNS:localhost"
make_cert client ca
make_cert rogue other-ca
echo "s3cret-token" >token
echo "wrong-token" >bad-token

start_worker worker.log --metrics-listen off --kv-cache-memory 100000000 \
  --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem --auth-token-file token
server="127.0.0.1:$port"
tls=(--server "$server" --tls-ca ca.pem --tls-cert client.pem --tls-key client.key)
ask=(--prompt "Hello" --max-tokens 4 --temperature 0)

"$LLMW" generate "${tls[@]}" --auth-token-file token "${ask[@]}" >out 2>err ||
  fail "trusted client with token refused: $(cat err)"
grep -q "generated 4 tokens" err || fail "no tokens for the trusted client: $(cat err)"

"$LLMW" generate "${tls[@]}" "${ask[@]}" >/dev/null 2>err && fail "served without a token"
grep -q "bearer token" err || fail "no UNAUTHENTICATED message: $(cat err)"
"$LLMW" generate "${tls[@]}" --auth-token-file bad-token "${ask[@]}" >/dev/null 2>err &&
  fail "served with a wrong token"

"$LLMW" generate --server "$server" --tls-ca ca.pem --tls-cert rogue.pem --tls-key rogue.key \
  --auth-token-file token "${ask[@]}" >/dev/null 2>err && fail "served a certificate from another CA"
"$LLMW" generate --server "$server" --auth-token-file token "${ask[@]}" >/dev/null 2>err &&
  fail "served a plaintext client"

# The token may also come from the environment.
kill -9 "$worker_pid"
LLMW_AUTH_TOKEN="s3cret-token" start_worker env-worker.log --metrics-listen off \
  --kv-cache-memory 100000000
server="127.0.0.1:$port"
"$LLMW" generate --server "$server" --auth-token-file token "${ask[@]}" >/dev/null 2>err ||
  fail "token from LLMW_AUTH_TOKEN refused: $(cat err)"
"$LLMW" generate --server "$server" "${ask[@]}" >/dev/null 2>err && fail "served without a token"

finish worker.log
