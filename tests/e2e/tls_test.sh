#!/usr/bin/env bash
# TLS end to end, with the real clients: the control API over HTTPS with a certificate the user
# made (openssl CLI, a test CA, IP SAN 127.0.0.1) driven by `aws --ca-bundle`, boto3
# (verify=FILE) and `rewind --ca-bundle` / AWS_CA_BUNDLE; plain HTTP and an untrusted CA fail.
# Every cluster's mariadbd serves TLS with a certificate from rewindd's CA (DATA/ca.pem):
# `mysql --ssl-ca=DATA/ca.pem --ssl-verify-server-cert` verifies it, a wrong CA does not; a
# clone gets its own; a backtrack leaves it; a restart re-issues a missing one. rewindd refuses
# plain HTTP on a non-loopback --listen address before serving anything, and refuses bad
# certificate files naming them. Nothing is sent anywhere but 127.0.0.0/8.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Tls-pass-$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"

command -v openssl >/dev/null || die "the openssl CLI (Debian package openssl) is required"
command -v ss >/dev/null || die "ss (Debian package iproute2) is required"

# ---- a test CA and the API's certificate, as a user would make them -------------------------
PKI="$E2E_DIR/pki"
mkdir -p "$PKI"
make_ca() {  # make_ca NAME: NAME.pem + NAME.key, a P-256 CA for two days
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=Rewind e2e $1" -keyout "$PKI/$1.key" -out "$PKI/$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null || die "openssl could not make the test CA $1"
}
make_ca api-ca
make_ca other-ca
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$PKI/api.key" -out "$PKI/api.csr" 2>/dev/null || die "openssl req failed"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
  > "$PKI/api.ext"
openssl x509 -req -in "$PKI/api.csr" -CA "$PKI/api-ca.pem" -CAkey "$PKI/api-ca.key" \
  -CAcreateserial -days 2 -extfile "$PKI/api.ext" -out "$PKI/api.pem" 2>/dev/null ||
  die "openssl x509 -req failed"
openssl verify -CAfile "$PKI/api-ca.pem" "$PKI/api.pem" >/dev/null || die "the test API cert does not verify"
chmod 600 "$PKI"/*.key

# ---- refusals: rewindd exits before it binds, mounts or creates anything ----------------------
# expect_refusal RC TEXT ARGS...: rewindd ARGS exits with RC, saying TEXT, without serving.
expect_refusal() {
  local want_rc=$1 text=$2; shift 2
  local rc=0 out
  out=$(timeout 30 "$REWINDD" "$@" 2>&1) || rc=$?
  [ "$rc" = "$want_rc" ] || die "rewindd $* exited $rc, expected $want_rc: $out"
  echo "$out" | grep -qF -- "$text" || die "rewindd $* did not say '$text': $out"
  log "refused (exit $rc): $(echo "$out" | head -1 | cut -c1-150)"
}
P=$(free_port)
NOWHERE="$E2E_DIR/never-made"
expect_refusal 2 "--tls-cert FILE --tls-key FILE" --data-dir "$NOWHERE" --listen "0.0.0.0:$P"
expect_refusal 2 "--allow-plain-http-on-trusted-network" --data-dir "$NOWHERE" --listen "0.0.0.0:$P"
expect_refusal 2 "not a loopback" --data-dir "$NOWHERE" --listen "[::]:$P"
expect_refusal 2 "not a loopback" --data-dir "$NOWHERE" --listen "localhost.example:$P"
[ ! -e "$NOWHERE" ] || die "a refused rewindd created its data dir"
ss -ltnH > "$E2E_DIR/ss.txt" || die "cannot run ss -ltnH"
grep -qE ":$P\$" <(awk '{print $4}' "$E2E_DIR/ss.txt") && die "a refused rewindd left port $P listening"
# The opt-out lifts the refusal (shown without binding 0.0.0.0: the data dir below cannot be
# made, which rewindd only tries once the listen check has passed).
touch "$E2E_DIR/a-file"
expect_refusal 1 "cannot create data dir" --data-dir "$E2E_DIR/a-file/data" \
  --listen "0.0.0.0:$P" --allow-plain-http-on-trusted-network
expect_refusal 2 "has no effect with --tls-cert" --data-dir "$NOWHERE" --listen "127.0.0.1:$P" \
  --tls-cert "$PKI/api.pem" --tls-key "$PKI/api.key" --allow-plain-http-on-trusted-network
# Bad certificate files: named, with the problem.
expect_refusal 2 "go together" --data-dir "$NOWHERE" --listen "127.0.0.1:$P" --tls-cert "$PKI/api.pem"
expect_refusal 1 "$PKI/missing.pem: No such file" --data-dir "$NOWHERE" --listen "127.0.0.1:$P" \
  --tls-cert "$PKI/missing.pem" --tls-key "$PKI/api.key"
expect_refusal 1 "$PKI/other-ca.key does not belong to the TLS certificate $PKI/api.pem" \
  --data-dir "$NOWHERE" --listen "127.0.0.1:$P" --tls-cert "$PKI/api.pem" --tls-key "$PKI/other-ca.key"
expect_refusal 1 "$PKI/api.key holds no PEM certificate" --data-dir "$NOWHERE" \
  --listen "127.0.0.1:$P" --tls-cert "$PKI/api.key" --tls-key "$PKI/api.key"
expect_refusal 1 "$PKI/api.ext holds no PEM private key" --data-dir "$NOWHERE" \
  --listen "127.0.0.1:$P" --tls-cert "$PKI/api.pem" --tls-key "$PKI/api.ext"
[ ! -e "$NOWHERE" ] || die "a refused rewindd created its data dir"
HELP=$("$REWINDD" --help 2>&1) || true  # (not piped into grep -q: an early exit would SIGPIPE it)
grep -q -- "--allow-plain-http-on-trusted-network" <<<"$HELP" || die "--help does not list the opt-out"

# ---- the API over HTTPS ------------------------------------------------------------------------
REWINDD_ARGS="--tls-cert $PKI/api.pem --tls-key $PKI/api.key"
E2E_API_SCHEME=https
E2E_AWS_ARGS="--ca-bundle $PKI/api-ca.pem"
E2E_CURL_ARGS="--cacert $PKI/api-ca.pem"
e2e_start
URL="https://127.0.0.1:$API_PORT"
grep -q "serving $URL" "$E2E_DIR/rewindd.log" || die "rewindd does not say it serves $URL"
[ "$(stat -c %a "$DATA/ca.pem")" = 600 ] || die "DATA/ca.pem is not mode 600"
[ "$(stat -c %a "$DATA/tls/ca-key.pem")" = 600 ] || die "the CA key is not mode 600"
[ "$(stat -c '%a %U' "$DATA/tls")" = "710 root" ] || die "DATA/tls is not mode 710 root:engine group"
openssl x509 -in "$DATA/ca.pem" -noout -text > "$E2E_DIR/ca.txt"
grep -A1 "Basic Constraints: critical" "$E2E_DIR/ca.txt" | grep -q "CA:TRUE" || die "ca.pem is no CA"
grep -A1 "Key Usage: critical" "$E2E_DIR/ca.txt" | grep -q "Certificate Sign, CRL Sign" ||
  die "ca.pem's key usage is not keyCertSign + cRLSign"
CA_SUM=$(sha256sum < "$DATA/ca.pem")

log "create a cluster and its writer through aws --ca-bundle over HTTPS"
create_cluster_with_writer tls 3600
[ "$(cluster_field tls Endpoint)" = 127.0.0.1 ] || die "unexpected endpoint $(cluster_field tls Endpoint)"

log "boto3 with verify=FILE"
cat > "$E2E_DIR/boto.py" <<'PY'
import sys, boto3, botocore.exceptions
url, ca, other = sys.argv[1:4]
def rds(verify):
    return boto3.session.Session(profile_name="rewind", region_name="us-east-1").client(
        "rds", endpoint_url=url, verify=verify)
print(rds(ca).describe_db_clusters(DBClusterIdentifier="tls")["DBClusters"][0]["Status"])
try:
    rds(other).describe_db_clusters()
    print("untrusted-ca-accepted")
except botocore.exceptions.SSLError:
    print("untrusted-ca-refused")
PY
BOTO=$(/usr/bin/python3 "$E2E_DIR/boto.py" "$URL" "$PKI/api-ca.pem" "$PKI/other-ca.pem" 2>&1) ||
  die "boto3 failed: $BOTO"
[ "$BOTO" = "$(printf 'available\nuntrusted-ca-refused')" ] || die "boto3 said: $BOTO"

log "plain HTTP and an untrusted CA fail"
expect_fail() {  # expect_fail TEXT aws-args...
  local text=$1; shift
  local out rc=0
  out=$(/usr/bin/aws --profile rewind --region us-east-1 --cli-connect-timeout 5 \
        --cli-read-timeout 5 "$@" rds describe-db-clusters 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "aws $* succeeded: $out"
  echo "$out" | grep -qi -- "$text" || die "aws $* failed without '$text': $out"
}
expect_fail "" --endpoint-url "http://127.0.0.1:$API_PORT"
expect_fail "CERTIFICATE_VERIFY_FAILED" --endpoint-url "$URL" --ca-bundle "$PKI/other-ca.pem"
expect_fail "CERTIFICATE_VERIFY_FAILED" --endpoint-url "$URL"  # the system's CAs do not know it
curl -sS --max-time 5 "http://127.0.0.1:$API_PORT/metrics" >/dev/null 2>&1 &&
  die "plain HTTP got an answer from the HTTPS API"
METRICS=$(curl -sS --max-time 5 --cacert "$PKI/api-ca.pem" "$URL/metrics") ||
  die "curl --cacert does not get /metrics over HTTPS"
echo "$METRICS" | grep -q '^rewind_' || die "no metrics over HTTPS: $METRICS"

log "the web console over HTTPS: a Secure __Host- session cookie"
KEY=$(awk -F' = ' '/aws_access_key_id/ { print $2 }' "$DATA/credentials")
SECRET=$(awk -F' = ' '/aws_secret_access_key/ { print $2 }' "$DATA/credentials")
HDRS=$(curl -sS --max-time 5 --cacert "$PKI/api-ca.pem" -D - -o /dev/null \
  -H 'Content-Type: application/json' -H "Origin: $URL" \
  --data-binary @- "$URL/console/api/login" <<<"{\"access_key_id\":\"$KEY\",\"secret_access_key\":\"$SECRET\"}")
COOKIE=$(grep -i '^set-cookie: __Host-rewind_session=' <<<"$HDRS" | tr -d '\r') ||
  die "console login over HTTPS set no __Host- cookie: $HDRS"
grep -q '; Secure' <<<"$COOKIE" && grep -q 'HttpOnly' <<<"$COOKIE" ||
  die "the console's cookie over HTTPS is not Secure and HttpOnly: $COOKIE"
SID=$(sed -E 's/^[^:]*: *([^;]*);.*/\1/' <<<"$COOKIE")
curl -sS --max-time 5 --cacert "$PKI/api-ca.pem" -H "Cookie: $SID" "$URL/console/api/clusters" |
  grep -q '"id":"tls"' || die "the console's API over HTTPS does not list the cluster"

log "the rewind CLI: --ca-bundle and AWS_CA_BUNDLE"
"$REWIND" --endpoint "$URL" --ca-bundle "$PKI/api-ca.pem" --credentials "$DATA/credentials" status |
  grep -q '^tls ' || die "rewind --ca-bundle status does not list the cluster"
AWS_CA_BUNDLE="$PKI/api-ca.pem" "$REWIND" --endpoint "$URL" --credentials "$DATA/credentials" \
  status | grep -q '^tls ' || die "rewind with AWS_CA_BUNDLE does not list the cluster"
OUT=$("$REWIND" --endpoint "$URL" --ca-bundle "$PKI/other-ca.pem" --credentials "$DATA/credentials" \
  status 2>&1) && die "rewind trusted the wrong CA: $OUT"
echo "$OUT" | grep -q "does not verify" || die "rewind's refusal does not say why: $OUT"
OUT=$("$REWIND" --endpoint "$URL" --ca-bundle "$PKI/missing.pem" --credentials "$DATA/credentials" \
  status 2>&1) && die "rewind accepted a missing CA bundle"
echo "$OUT" | grep -qF "$PKI/missing.pem" || die "rewind does not name the missing bundle: $OUT"

# ---- mariadbd over TLS -------------------------------------------------------------------------
# tls_sql CLUSTER CA [SQL]: mysql verifying the server's certificate against CA.
tls_sql() {
  mysql --ssl-ca="$2" --ssl-verify-server-cert -h "$(cluster_field "$1" Endpoint)" \
    -P "$(cluster_field "$1" Port)" -u masteruser -p"$MASTER_PASSWORD" -N -B mylab \
    -e "${3:-SHOW STATUS LIKE 'Ssl_cipher'}"
}
check_tls() {  # check_tls CLUSTER: verified with DATA/ca.pem, refused with another CA
  local out cipher
  out=$(tls_sql "$1" "$DATA/ca.pem" 2>&1) || die "mysql --ssl-verify-server-cert to $1 failed: $out"
  cipher=$(echo "$out" | awk '$1 == "Ssl_cipher" { print $2 }')
  [ -n "$cipher" ] || die "no Ssl_cipher on $1: $out"
  out=$(tls_sql "$1" "$PKI/other-ca.pem" 2>&1) && die "mysql to $1 verified against a wrong CA: $out"
  echo "$out" | grep -qi "certificate" || die "mysql to $1 with a wrong CA failed without a certificate error: $out"
  log "$1: TLS verified ($cipher); a wrong CA is refused"
}
check_tls tls
CERT="$DATA/tls/clusters/tls/server-cert.pem"
# The key belongs to the cluster's own engine uid, the one its mariadbd runs as (from /proc).
TLS_UID=$(awk '/^Uid:/ { print $2 }' "/proc/$(cat "$DATA/run/tls/mariadbd/mariadbd.pid")/status")
[ "$TLS_UID" != 0 ] && [ "$TLS_UID" != "$(id -u mysql)" ] ||
  die "the cluster's mariadbd runs as uid $TLS_UID, not a uid of its own"
[ "$(stat -c "%a %u %G" "$DATA/tls/clusters/tls/server-key.pem")" = "600 $TLS_UID $(id -gn mysql)" ] ||
  die "the cluster key is not 600 and its engine uid's $TLS_UID (mariadbd reads it as that uid)"
openssl verify -CAfile "$DATA/ca.pem" -purpose sslserver -verify_ip 127.0.0.1 "$CERT" >/dev/null ||
  die "openssl does not verify the cluster certificate for 127.0.0.1"
openssl x509 -in "$CERT" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1, DNS:localhost" ||
  die "unexpected SANs: $(openssl x509 -in "$CERT" -noout -ext subjectAltName)"
END=$(date -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%s)
DAYS=$(( (END - $(date +%s)) / 86400 ))
[ "$DAYS" -ge 360 ] && [ "$DAYS" -le 366 ] || die "the cluster certificate is valid for $DAYS days"
TLS_CERT_SUM=$(sha256sum < "$CERT")

log "a clone gets its own certificate"
sql tls "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)"
sleep 1.1
T_ONE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
sql tls "INSERT INTO t VALUES (2)"
aws_rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier tls \
  --db-cluster-identifier tls-clone --restore-type copy-on-write --use-latest-restorable-time >/dev/null
wait_available tls-clone
aws_rds create-db-instance --db-instance-identifier tls-clone-1 --db-cluster-identifier tls-clone \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance tls-clone-1
check_tls tls-clone
[ "$(sha256sum < "$DATA/tls/clusters/tls-clone/server-cert.pem")" != "$TLS_CERT_SUM" ] ||
  die "the clone shares its source's certificate"

log "a backtrack keeps the certificate (it lives outside the volume)"
aws_rds backtrack-db-cluster --db-cluster-identifier tls --backtrack-to "$T_ONE" >/dev/null
wait_available tls
for _ in $(seq 1 300); do sql tls "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
[ "$(sql tls "SELECT COUNT(*) FROM t")" = 1 ] || die "the backtrack did not take the cluster back"
[ "$(sha256sum < "$CERT")" = "$TLS_CERT_SUM" ] || die "the backtrack changed the certificate"
check_tls tls

log "a cluster without a certificate (made before TLS) gets one at rewindd's start"
e2e_stop TERM
rm -rf "$DATA/tls/clusters/tls"
e2e_start
wait_instance tls-1
for _ in $(seq 1 300); do sql tls "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
[ -f "$CERT" ] || die "no certificate re-issued for tls at start"
grep -q "issued the TLS certificate of cluster tls " "$E2E_DIR/rewindd.log" || die "the re-issue is not logged"
[ "$(sha256sum < "$DATA/ca.pem")" = "$CA_SUM" ] || die "the CA changed across a restart"
check_tls tls
check_tls tls-clone

log "deleting a cluster deletes its certificate"
aws_rds delete-db-instance --db-instance-identifier tls-clone-1 >/dev/null
aws_rds delete-db-cluster --db-cluster-identifier tls-clone --skip-final-snapshot >/dev/null
for _ in $(seq 1 300); do
  aws_rds describe-db-clusters --db-cluster-identifier tls-clone >/dev/null 2>&1 || break
  sleep 0.3
done
[ ! -e "$DATA/tls/clusters/tls-clone" ] || die "the deleted clone's certificate is still there"

log "everything listens on 127.0.0.1 only"
LISTEN=$(ss -ltnH) || die "cannot run ss -ltnH"
echo "$LISTEN" | awk '{print $4}' | grep -qE "^127\.0\.0\.1:$API_PORT\$" ||
  die "ss does not show the API on 127.0.0.1:$API_PORT: the check below would prove nothing"
echo "$LISTEN" | awk '{print $4}' | grep -E ":($(cluster_field tls Port)|$API_PORT)\$" |
  grep -v '^127\.' && die "rewindd or a mariadbd listens beyond 127.0.0.0/8 (the reader endpoint's HAProxy uses 127.0.0.2)"
log "PASS"
