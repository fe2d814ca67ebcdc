#!/usr/bin/env bash
# Set-up (packages + build), then starts rewindd (if it is not running yet) with a ready cluster
# `mylab`: master user `masteruser`, database `mylab`, writer instance `mylab-instance-1`, a 24 h
# backtrack window. Prints the mysql and aws lines to use. Safe to run again.
#   REWIND_DATA_DIR (default /var/lib/rewind), REWIND_LISTEN (default 127.0.0.1:8686),
#   REWIND_ENGINE_USER (default mysql: the unprivileged user whose group every mariadbd runs in;
#   each cluster's mariadbd runs as a uid of its own)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

DATA=${REWIND_DATA_DIR:-/var/lib/rewind}
LISTEN=${REWIND_LISTEN:-127.0.0.1:8686}
ENGINE_USER=${REWIND_ENGINE_USER:-mysql}
mkdir -p "$DATA"
REWINDD="$PWD/build/src/cli/rewindd"

running_pid() {
  local pid
  pid=$(cat "$DATA/rewindd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--data-dir $DATA" && echo "$pid"
}

if pid=$(running_pid); then
  echo "run: rewindd already running (pid $pid)"
else
  echo "run: starting rewindd (log: $DATA/rewindd.log)"
  umask 077  # its log is private, as everything under DATA
  nohup "$REWINDD" --data-dir "$DATA" --listen "$LISTEN" --engine-user "$ENGINE_USER" \
    >>"$DATA/rewindd.log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    [ -s "$DATA/credentials" ] && running_pid >/dev/null && break
    sleep 0.1
  done
fi

export AWS_SHARED_CREDENTIALS_FILE="$DATA/credentials" AWS_CONFIG_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
AWS=(/usr/bin/aws --profile rewind --region us-east-1 --endpoint-url "http://$LISTEN")
for _ in $(seq 1 100); do
  "${AWS[@]}" rds describe-db-clusters >/dev/null 2>&1 && break
  sleep 0.2
done

PASSWORD_FILE="$DATA/mylab.password"
if ! "${AWS[@]}" rds describe-db-clusters --db-cluster-identifier mylab >/dev/null 2>&1; then
  umask 077
  [ -s "$PASSWORD_FILE" ] || head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16 > "$PASSWORD_FILE"
  echo "run: creating cluster mylab"
  "${AWS[@]}" rds create-db-cluster --db-cluster-identifier mylab --engine aurora-mysql \
    --master-username masteruser --master-user-password "$(cat "$PASSWORD_FILE")" \
    --database-name mylab --backtrack-window 86400 >/dev/null
fi
"${AWS[@]}" rds wait db-cluster-available --db-cluster-identifier mylab
if ! "${AWS[@]}" rds describe-db-instances --db-instance-identifier mylab-instance-1 >/dev/null 2>&1; then
  echo "run: creating writer instance mylab-instance-1"
  "${AWS[@]}" rds create-db-instance --db-instance-identifier mylab-instance-1 \
    --db-cluster-identifier mylab --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
fi
"${AWS[@]}" rds wait db-instance-available --db-instance-identifier mylab-instance-1

ENDPOINT=$("${AWS[@]}" rds describe-db-clusters --db-cluster-identifier mylab --query 'DBClusters[0].Endpoint' --output text)
PORT=$("${AWS[@]}" rds describe-db-clusters --db-cluster-identifier mylab --query 'DBClusters[0].Port' --output text)
cat <<TXT

Rewind is running. Cluster mylab is available.

  SQL:   mysql -h $ENDPOINT -P $PORT -u masteruser -p$(cat "$PASSWORD_FILE" 2>/dev/null || echo '<your password>') mylab
  TLS:   mysql --ssl-ca=$DATA/ca.pem --ssl-verify-server-cert -h $ENDPOINT -P $PORT -u masteruser -p… mylab
  AWS:   export AWS_SHARED_CREDENTIALS_FILE=$DATA/credentials AWS_PROFILE=rewind AWS_DEFAULT_REGION=us-east-1
         aws --endpoint-url http://$LISTEN rds describe-db-clusters
  Web:   http://$LISTEN/  (log in with aws_access_key_id / aws_secret_access_key of $DATA/credentials)
  Stop:  bash scripts/stop.sh
TXT
