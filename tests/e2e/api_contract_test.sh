#!/usr/bin/env bash
# The RDS API honours what it accepts (issue 14), through the real aws CLI v2, boto3 and the
# rewind CLI against a real rewindd: deletion protection refuses DeleteDBCluster (the cluster
# stays and serves) until turned off; tags on create, add/list/remove by ARN, TagList in the
# describes, gone with the resource; RestoreType full-copy and unserved parameters refused by
# name; Describe* paging with --page-size / --max-items / --starting-token and boto3's paginator,
# a bad Marker refused; a reserved master user name refused with nothing created; an overlong
# identifier's error message bounded.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Contract-$RANDOM$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
[ -x "$REWIND" ] || die "missing $REWIND"

# expect_aws_message TEXT aws-args...: the CLI fails and its message contains TEXT
expect_aws_message() {
  local text=$1; shift
  local out rc=0
  out=$(aws_rds "$@" 2>&1) || rc=$?
  [ $rc -ne 0 ] || die "expected a refusal from: aws rds $*; it succeeded: $out"
  echo "$out" | grep -qF -- "$text" || die "expected '$text' from: aws rds $*; got: $out"
}
no_cluster() {  # no_cluster ID: describe says DBClusterNotFoundFault
  expect_aws_error DBClusterNotFoundFault describe-db-clusters --db-cluster-identifier "$1"
}
rewind_cli() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

log "rewindd refuses a bad --event-retention-days"
rc=0; "$REWINDD" --data-dir "$E2E_DIR/unused" --event-retention-days 0 >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || die "--event-retention-days 0 should be a usage error (2), got $rc"

REWINDD_ARGS="--event-retention-days 14"
e2e_start

log "reserved master user names are refused before anything is created"
for name in root rdsadmin select mariadb.sys; do
  expect_aws_message "reserved word" create-db-cluster --db-cluster-identifier reserved \
    --engine aurora-mysql --master-username "$name" --master-user-password "$MASTER_PASSWORD"
done
no_cluster reserved

log "an overlong identifier's error message is bounded"
long=$(head -c 5000 /dev/zero | tr '\0' 'x')
out=$(aws_rds describe-db-clusters --db-cluster-identifier "$long" 2>&1) && die "describe of $long succeeded"
echo "$out" | grep -q DBClusterNotFoundFault || die "expected DBClusterNotFoundFault: $out"
[ "${#out}" -lt 600 ] || die "error message not bounded (${#out} chars): ${out:0:300}"

log "unserved parameters are refused by name"
expect_aws_message VpcSecurityGroupIds create-db-cluster --db-cluster-identifier unserved \
  --engine aurora-mysql --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --vpc-security-group-ids sg-12345678
expect_aws_message EnableIAMDatabaseAuthentication create-db-cluster --db-cluster-identifier unserved \
  --engine aurora-mysql --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --enable-iam-database-authentication
no_cluster unserved

log "cluster prot: deletion protection and tags on create, writer with tags"
aws_rds create-db-cluster --db-cluster-identifier prot --engine aurora-mysql \
  --master-username masteruser --master-user-password "$MASTER_PASSWORD" --database-name mylab \
  --backtrack-window 3600 --deletion-protection \
  --tags Key=team,Value=db Key=env,Value=contract >/dev/null
wait_available prot
aws_rds create-db-instance --db-instance-identifier prot-1 --db-cluster-identifier prot \
  --engine aurora-mysql --db-instance-class db.r5.large --tags Key=role,Value=writer >/dev/null
wait_instance prot-1
[ "$(cluster_field prot DeletionProtection)" = True ] || die "DeletionProtection is not True"
[ "$(cluster_field prot "TagList[?Key=='team'].Value | [0]")" = db ] || die "tag team=db missing"
[ "$(aws_rds describe-db-instances --db-instance-identifier prot-1 \
      --query "DBInstances[0].TagList[?Key=='role'].Value | [0]" --output text)" = writer ] ||
  die "instance tag role=writer missing"
[ "$(aws_rds describe-db-instances --db-instance-identifier prot-1 \
      --query 'DBInstances[0].DeletionProtection' --output text)" = False ] ||
  die "an Aurora instance's own DeletionProtection should be False"

log "delete of the protected cluster is refused; it stays and serves"
aws_rds delete-db-instance --db-instance-identifier prot-1 >/dev/null  # Aurora's usual order
wait_gone_instance() {
  for _ in $(seq 1 300); do
    aws_rds describe-db-instances --db-instance-identifier "$1" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  die "instance $1 was not deleted"
}
wait_gone_instance prot-1
expect_aws_error InvalidParameterCombination delete-db-cluster --db-cluster-identifier prot \
  --skip-final-snapshot
expect_aws_message "Cannot delete protected Cluster, please disable deletion protection and try again." \
  delete-db-cluster --db-cluster-identifier prot --skip-final-snapshot
[ "$(status_of prot)" = available ] || die "the protected cluster is not available"
aws_rds create-db-instance --db-instance-identifier prot-2 --db-cluster-identifier prot \
  --engine aurora-mysql --db-instance-class db.r5.large >/dev/null
wait_instance prot-2
sql prot "CREATE TABLE t (v INT); INSERT INTO t VALUES (42)"
[ "$(sql prot 'SELECT v FROM t')" = 42 ] || die "the protected cluster does not serve"

log "tags by ARN: add, list, remove (cluster and instance)"
ARN=$(cluster_field prot DBClusterArn)
IARN=$(aws_rds describe-db-instances --db-instance-identifier prot-2 \
         --query 'DBInstances[0].DBInstanceArn' --output text)
aws_rds add-tags-to-resource --resource-name "$ARN" --tags Key=owner,Value=alice Key=team,Value=dba
tags=$(aws_rds list-tags-for-resource --resource-name "$ARN" \
         --query 'TagList[].[Key,Value]' --output text | tr '\t\n' '= ' | sed 's/ $//')
[ "$tags" = "team=dba env=contract owner=alice" ] || die "list-tags-for-resource: '$tags'"
aws_rds remove-tags-from-resource --resource-name "$ARN" --tag-keys env owner
[ "$(aws_rds list-tags-for-resource --resource-name "$ARN" --query 'length(TagList)' --output text)" = 1 ] ||
  die "remove-tags-from-resource did not remove"
[ "$(cluster_field prot 'length(TagList)')" = 1 ] || die "describe TagList not updated"
aws_rds add-tags-to-resource --resource-name "$IARN" --tags Key=tier,Value=1
[ "$(aws_rds list-tags-for-resource --resource-name "$IARN" --query 'TagList[0].Key' --output text)" = tier ] ||
  die "instance tags"
expect_aws_error InvalidParameterValue add-tags-to-resource --resource-name "$ARN" --tags Key=aws:x,Value=y
expect_aws_error InvalidParameterValue list-tags-for-resource --resource-name not-an-arn
expect_aws_error DBClusterNotFoundFault list-tags-for-resource \
  --resource-name "${ARN%:*}:nope"
expect_aws_error DBInstanceNotFound list-tags-for-resource --resource-name "${IARN%:*}:nope"

log "rewind CLI: show, tag, untag, protect"
rewind_cli show prot | grep -q "Deletion protection *on" || die "rewind show: no deletion protection"
rewind_cli tag prot stage=e2e | grep -q "stage=e2e" || die "rewind tag"
rewind_cli untag prot stage | grep -q "stage=" && die "rewind untag left the tag"
rewind_cli status | grep -E "^prot " | grep -q " yes " || die "rewind status: PROTECTED column"

log "RestoreType full-copy is refused; nothing created"
expect_aws_message "only copy-on-write" restore-db-cluster-to-point-in-time \
  --source-db-cluster-identifier prot --db-cluster-identifier fullcopy --restore-type full-copy \
  --use-latest-restorable-time
no_cluster fullcopy

log "paging: events with --page-size / --max-items / --starting-token"
for n in $(seq 1 24); do
  if [ $((n % 2)) -eq 1 ]; then flag=--no-deletion-protection; else flag=--deletion-protection; fi
  aws_rds modify-db-cluster --db-cluster-identifier prot $flag >/dev/null
done
events_q=(describe-events --source-identifier prot --source-type db-cluster --duration 60)
total=$(aws_rds "${events_q[@]}" --query 'length(Events)' --output text)
[ "$total" -ge 25 ] || die "expected at least 25 events, got $total"
# With --output text the CLI prints the query's answer per page: one line per call.
per_page=$(aws_rds "${events_q[@]}" --page-size 20 --query 'length(Events)' --output text | tr '\n' ' ')
[ "$(echo "$per_page" | awk '{ print $1 }')" = 20 ] || die "--page-size 20: pages of $per_page"
[ "$(echo "$per_page" | wc -w)" -ge 2 ] || die "--page-size 20 made one call: $per_page"
paged=$(echo "$per_page" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s }')
[ "$paged" = "$total" ] || die "--page-size 20 gave $paged events of $total"
json_total=$(aws_rds "${events_q[@]}" --page-size 20 --output json |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Events"]))')
[ "$json_total" = "$total" ] || die "--page-size 20 --output json gave $json_total of $total"
first=$(aws_rds "${events_q[@]}" --page-size 20 --max-items 20 --output json)
token=$(echo "$first" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["Events"]) == 20, len(d["Events"]); print(d["NextToken"])') ||
  die "--max-items 20 did not stop with a NextToken: $first"
rest=$(aws_rds "${events_q[@]}" --page-size 20 --starting-token "$token" --output json |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Events"]))')
[ $((20 + rest)) -eq "$total" ] || die "--starting-token gave $rest more of $total"
[ "$(aws_rds describe-db-clusters --page-size 20 --query 'length(DBClusters)' --output text)" = 1 ] ||
  die "describe-db-clusters --page-size 20"
[ "$(aws_rds describe-db-instances --page-size 20 --query 'length(DBInstances)' --output text)" = 1 ] ||
  die "describe-db-instances --page-size 20"
expect_aws_error InvalidParameterValue describe-db-clusters --page-size 5
expect_aws_error InvalidParameterValue describe-events --starting-token \
  "$(printf '{"Marker": "bogus"}' | base64 -w0)"

log "boto3: paginator pages of 20, raw Marker, bad Marker refused"
/usr/bin/python3 - "http://127.0.0.1:$API_PORT" "$total" <<'PY' || die "boto3 checks"
import sys
import boto3
from botocore.exceptions import ClientError
endpoint, total = sys.argv[1], int(sys.argv[2])
rds = boto3.Session(profile_name="rewind", region_name="us-east-1").client("rds", endpoint_url=endpoint)
q = dict(SourceIdentifier="prot", SourceType="db-cluster", Duration=60)
pages = list(rds.get_paginator("describe_events").paginate(**q, PaginationConfig={"PageSize": 20}))
sizes = [len(p["Events"]) for p in pages]
assert len(pages) >= 2 and sizes[0] == 20 and sum(sizes) == total, sizes
first = rds.describe_events(**q, MaxRecords=20)
assert first.get("Marker"), first.keys()
second = rds.describe_events(**q, MaxRecords=20, Marker=first["Marker"])
assert len(second["Events"]) == total - 20, len(second["Events"])
for bad in ["bogus", "00"]:
    try:
        rds.describe_events(**q, Marker=bad)
        raise SystemExit("bad Marker accepted: " + bad)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidParameterValue", e.response
c = rds.describe_db_clusters(DBClusterIdentifier="prot")["DBClusters"][0]
assert c["DeletionProtection"] is True, c["DeletionProtection"]  # the 24th toggle turned it on
rds.add_tags_to_resource(ResourceName=c["DBClusterArn"], Tags=[{"Key": "py", "Value": "boto3"}])
tags = rds.list_tags_for_resource(ResourceName=c["DBClusterArn"])["TagList"]
assert {"Key": "py", "Value": "boto3"} in tags, tags
print("boto3 ok")
PY

log "deletion protection off: the cluster deletes, its tags go with it"
aws_rds modify-db-cluster --db-cluster-identifier prot --deletion-protection >/dev/null
expect_aws_error InvalidParameterCombination delete-db-cluster --db-cluster-identifier prot --skip-final-snapshot
aws_rds modify-db-cluster --db-cluster-identifier prot --no-deletion-protection >/dev/null
aws_rds delete-db-instance --db-instance-identifier prot-2 >/dev/null
aws_rds delete-db-cluster --db-cluster-identifier prot --skip-final-snapshot >/dev/null
for _ in $(seq 1 300); do
  aws_rds describe-db-clusters --db-cluster-identifier prot >/dev/null 2>&1 || break
  sleep 0.2
done
no_cluster prot
expect_aws_error DBClusterNotFoundFault list-tags-for-resource --resource-name "$ARN"
log "PASS"
