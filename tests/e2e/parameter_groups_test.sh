#!/usr/bin/env bash
# Parameter groups (issue 16) through the real aws CLI v2, boto3 and mysql against a real
# rewindd: a DB cluster parameter group and a cluster using it; max_connections set with
# ApplyMethod immediate shows at once in @@max_connections; a static parameter set
# pending-reboot shows pending-reboot in describe-db-instances / describe-db-clusters until
# reboot-db-instance, after which the engine has it and the status is in-sync; bad names, values
# and a static parameter asked immediate are refused with InvalidParameterValue naming them and
# nothing stored changes; a group in use, the default group and an unknown one cannot be
# deleted; DB (instance) parameter groups through boto3; values survive a rewindd restart;
# restore-db-cluster-from-snapshot / -to-point-in-time with a group (an unknown one refused);
# reset; `rewind param-group`.
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Param-pass-$RANDOM$RANDOM"
for tool in /usr/bin/aws /usr/bin/python3 mysql; do
  command -v "$tool" >/dev/null || die "missing $tool"
done
REWIND="$BUILD_DIR/src/cli/rewind"
[ -x "$REWIND" ] || die "missing $REWIND"
rewind_cli() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }

apply_status() {  # the writer's ParameterApplyStatus as describe-db-instances shows it
  aws_rds describe-db-instances --db-instance-identifier pc-1 \
    --query 'DBInstances[0].DBParameterGroups[0].ParameterApplyStatus' --output text
}
member_status() {
  cluster_field pc 'DBClusterMembers[0].DBClusterParameterGroupStatus'
}
user_params() {  # name=value of the group's user parameters, sorted
  aws_rds describe-db-cluster-parameters --db-cluster-parameter-group-name pg --source user \
    --query 'Parameters[].[ParameterName,ParameterValue]' --output text | awk '{print $1"="$2}' | sort
}

e2e_start

log "create-db-cluster-parameter-group; wrong family and duplicate refused"
out=$(aws_rds create-db-cluster-parameter-group --db-cluster-parameter-group-name pg \
  --db-parameter-group-family aurora-mysql8.0 --description "e2e group")
/usr/bin/python3 - "$out" <<'PY' || die "group fields"
import json, sys
g = json.loads(sys.argv[1])["DBClusterParameterGroup"]
assert g == {"DBClusterParameterGroupName": "pg", "DBParameterGroupFamily": "aurora-mysql8.0",
             "Description": "e2e group",
             "DBClusterParameterGroupArn": "arn:aws:rds:us-east-1:123456789012:cluster-pg:pg"}, g
PY
expect_aws_error InvalidParameterValue create-db-cluster-parameter-group \
  --db-cluster-parameter-group-name pg2 --db-parameter-group-family mysql8.0 --description x
expect_aws_error DBParameterGroupAlreadyExists create-db-cluster-parameter-group \
  --db-cluster-parameter-group-name pg --db-parameter-group-family aurora-mysql8.0 --description x
[ "$(aws_rds describe-db-cluster-parameter-groups \
     --query 'DBClusterParameterGroups[].DBClusterParameterGroupName' --output text)" = \
  "$(printf 'default.aurora-mysql8.0\tpg')" ] || die "describe-db-cluster-parameter-groups"

log "the engine's own description of its parameters (boto3)"
/usr/bin/python3 - "$API_PORT" "$DATA/credentials" <<'PY' || die "parameter fields"
import configparser, sys, boto3
c = configparser.ConfigParser(); c.read(sys.argv[2]); k = c["rewind"]
rds = boto3.client("rds", endpoint_url="http://127.0.0.1:" + sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=k["aws_access_key_id"],
                   aws_secret_access_key=k["aws_secret_access_key"])
ps = {p["ParameterName"]: p for p in rds.describe_db_cluster_parameters(
      DBClusterParameterGroupName="pg", Source="engine-default")["Parameters"]}
for name in ["innodb_buffer_pool_size", "max_connections", "long_query_time", "slow_query_log",
             "binlog_format", "time_zone", "character_set_server", "collation_server",
             "wait_timeout", "innodb_lock_wait_timeout", "sql_mode", "max_allowed_packet",
             "tmp_table_size", "innodb_log_buffer_size"]:
    assert name in ps, name
mc = ps["max_connections"]
assert mc["DataType"] == "integer" and mc["AllowedValues"] == "10-100000", mc
assert mc["ApplyType"] == "dynamic" and mc["IsModifiable"] is True and mc["Source"] == "engine-default", mc
assert ps["innodb_log_buffer_size"]["ApplyType"] == "static", ps["innodb_log_buffer_size"]
assert ps["slow_query_log"]["DataType"] == "boolean" and ps["slow_query_log"]["AllowedValues"] == "0,1"
assert "ROW" in ps["binlog_format"]["AllowedValues"].split(",")
for forbidden in ["general_log_file", "slow_query_log_file", "plugin_dir", "secure_file_priv",
                  "init_file", "init_connect", "log_error", "datadir", "socket", "port",
                  "bind_address"]:
    assert forbidden not in ps, forbidden
d = rds.describe_engine_default_cluster_parameters(DBParameterGroupFamily="aurora-mysql8.0")
assert d["EngineDefaults"]["DBParameterGroupFamily"] == "aurora-mysql8.0"
assert len(d["EngineDefaults"]["Parameters"]) == len(ps)
# DB (instance) parameter groups.
g = rds.create_db_parameter_group(DBParameterGroupName="ipg", DBParameterGroupFamily="aurora-mysql8.0",
                                  Description="instance group")["DBParameterGroup"]
assert g["DBParameterGroupArn"].endswith(":pg:ipg"), g
rds.modify_db_parameter_group(DBParameterGroupName="ipg", Parameters=[
    {"ParameterName": "wait_timeout", "ParameterValue": "600", "ApplyMethod": "immediate"}])
u = rds.describe_db_parameters(DBParameterGroupName="ipg", Source="user")["Parameters"]
assert [(p["ParameterName"], p["ParameterValue"]) for p in u] == [("wait_timeout", "600")], u
names = [x["DBParameterGroupName"] for x in rds.describe_db_parameter_groups()["DBParameterGroups"]]
assert names == ["default.aurora-mysql8.0", "ipg"], names
PY

log "a cluster with the group (and its writer with the instance group)"
expect_aws_error DBParameterGroupNotFound create-db-cluster --db-cluster-identifier pc \
  --engine aurora-mysql --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --db-cluster-parameter-group-name nope
aws_rds create-db-cluster --db-cluster-identifier pc --engine aurora-mysql \
  --master-username masteruser --master-user-password "$MASTER_PASSWORD" \
  --database-name mylab --db-cluster-parameter-group-name pg >/dev/null
wait_available pc
aws_rds create-db-instance --db-instance-identifier pc-1 --db-cluster-identifier pc \
  --engine aurora-mysql --db-instance-class db.r5.large --db-parameter-group-name ipg >/dev/null
wait_instance pc-1
wait_sql pc
[ "$(cluster_field pc DBClusterParameterGroup)" = pg ] || die "DBClusterParameterGroup"
[ "$(aws_rds describe-db-instances --db-instance-identifier pc-1 \
     --query 'DBInstances[0].DBParameterGroups[0].DBParameterGroupName' --output text)" = ipg ] ||
  die "DBParameterGroups"
[ "$(apply_status)" = in-sync ] || die "a new instance is $(apply_status)"
[ "$(sql pc "SELECT @@wait_timeout")" = 600 ] || die "the instance group's wait_timeout is not set"

log "max_connections immediate: the engine has it at once"
before=$(sql pc "SELECT @@max_connections")
aws_rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name pg \
  --parameters "ParameterName=max_connections,ParameterValue=321,ApplyMethod=immediate" >/dev/null
[ "$(sql pc "SELECT @@max_connections")" = 321 ] || die "max_connections not applied at once (was $before)"
[ "$(apply_status)" = in-sync ] || die "after an immediate change: $(apply_status)"

log "refusals name every bad parameter; nothing stored changes"
expect_aws_error InvalidParameterValue modify-db-cluster-parameter-group \
  --db-cluster-parameter-group-name pg \
  --parameters "ParameterName=innodb_log_buffer_size,ParameterValue=4194304,ApplyMethod=immediate"
out=$(aws_rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name pg --parameters \
  "ParameterName=plugin_dir,ParameterValue=tmp,ApplyMethod=immediate" \
  "ParameterName=max_connections,ParameterValue=5,ApplyMethod=immediate" \
  "ParameterName=general_log_file,ParameterValue=x,ApplyMethod=pending-reboot" 2>&1) &&
  die "bad parameters accepted"
for part in "(InvalidParameterValue)" plugin_dir max_connections general_log_file 10-100000; do
  grep -qF "$part" <<<"$out" || die "the refusal does not name $part: $out"
done
[ "$(user_params)" = "max_connections=321" ] || die "a refused change stored something: $(user_params)"
[ "$(sql pc "SELECT @@max_connections")" = 321 ] || die "a refused change reached the engine"

log "a static parameter pending-reboot: pending-reboot until reboot-db-instance"
aws_rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name pg \
  --parameters "ParameterName=innodb_log_buffer_size,ParameterValue=4194304,ApplyMethod=pending-reboot" \
  >/dev/null
[ "$(apply_status)" = pending-reboot ] || die "describe-db-instances shows $(apply_status)"
[ "$(member_status)" = pending-reboot ] || die "describe-db-clusters shows $(member_status)"
[ "$(sql pc "SELECT @@innodb_log_buffer_size")" != 4194304 ] || die "static value applied early"
aws_rds reboot-db-instance --db-instance-identifier pc-1 >/dev/null
wait_instance pc-1
wait_sql pc
[ "$(sql pc "SELECT @@innodb_log_buffer_size")" = 4194304 ] || die "static value not applied by the reboot"
[ "$(sql pc "SELECT @@max_connections")" = 321 ] || die "the immediate value is lost by the reboot"
[ "$(apply_status)" = in-sync ] || die "after the reboot: $(apply_status)"
[ "$(member_status)" = in-sync ] || die "after the reboot (cluster member): $(member_status)"

log "deletion refused while in use, for the default group and an unknown one"
expect_aws_error InvalidDBParameterGroupState delete-db-cluster-parameter-group \
  --db-cluster-parameter-group-name pg
expect_aws_error InvalidDBParameterGroupState delete-db-cluster-parameter-group \
  --db-cluster-parameter-group-name default.aurora-mysql8.0
expect_aws_error InvalidDBParameterGroupState modify-db-cluster-parameter-group \
  --db-cluster-parameter-group-name default.aurora-mysql8.0 \
  --parameters "ParameterName=max_connections,ParameterValue=50,ApplyMethod=immediate"
expect_aws_error DBParameterGroupNotFound delete-db-cluster-parameter-group \
  --db-cluster-parameter-group-name nope
expect_aws_error InvalidDBParameterGroupState delete-db-parameter-group --db-parameter-group-name ipg

log "rewindd restart keeps the groups, their values and their use"
e2e_stop TERM
e2e_start
wait_instance pc-1
wait_sql pc
[ "$(user_params)" = "$(printf 'innodb_log_buffer_size=4194304\nmax_connections=321')" ] ||
  die "values after a restart: $(user_params)"
[ "$(sql pc "SELECT @@max_connections, @@innodb_log_buffer_size, @@wait_timeout")" = \
  "$(printf '321\t4194304\t600')" ] || die "the engine after a restart"
[ "$(cluster_field pc DBClusterParameterGroup)" = pg ] || die "the cluster's group after a restart"
[ "$(apply_status)" = in-sync ] || die "after a restart: $(apply_status)"

log "restores name the group: from a snapshot (its writer runs the values) and to a point in time"
aws_rds create-db-cluster-snapshot --db-cluster-identifier pc \
  --db-cluster-snapshot-identifier pcs >/dev/null
expect_aws_error DBParameterGroupNotFound restore-db-cluster-from-snapshot \
  --db-cluster-identifier pr --snapshot-identifier pcs --engine aurora-mysql \
  --db-cluster-parameter-group-name nope
expect_aws_error DBParameterGroupNotFound restore-db-cluster-to-point-in-time \
  --db-cluster-identifier pk --source-db-cluster-identifier pc --restore-type copy-on-write \
  --use-latest-restorable-time --db-cluster-parameter-group-name nope
restore_snapshot_with_writer pr pcs --db-cluster-parameter-group-name pg
[ "$(cluster_field pr DBClusterParameterGroup)" = pg ] || die "the restored cluster's group"
[ "$(sql pr "SELECT @@max_connections, @@innodb_log_buffer_size")" = "$(printf '321\t4194304')" ] ||
  die "the restored cluster's writer does not run pg's values"
aws_rds restore-db-cluster-to-point-in-time --db-cluster-identifier pk \
  --source-db-cluster-identifier pc --restore-type copy-on-write --use-latest-restorable-time \
  --db-cluster-parameter-group-name pg >/dev/null
wait_available pk
[ "$(cluster_field pk DBClusterParameterGroup)" = pg ] || die "the clone's group"
aws_rds delete-db-instance --db-instance-identifier pr-1 >/dev/null
wait_instance_gone pr-1
for c in pr pk; do
  aws_rds delete-db-cluster --db-cluster-identifier "$c" --skip-final-snapshot >/dev/null
  wait_cluster_gone "$c"
done
aws_rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier pcs >/dev/null

log "reset of one parameter (immediate for a dynamic one), then of all"
aws_rds reset-db-cluster-parameter-group --db-cluster-parameter-group-name pg \
  --parameters "ParameterName=max_connections,ApplyMethod=immediate" >/dev/null
[ "$(sql pc "SELECT @@max_connections")" = 151 ] || die "reset not applied at once"
[ "$(user_params)" = "innodb_log_buffer_size=4194304" ] || die "after reset: $(user_params)"
aws_rds reset-db-cluster-parameter-group --db-cluster-parameter-group-name pg \
  --reset-all-parameters >/dev/null
[ -z "$(user_params)" ] || die "after reset-all: $(user_params)"
[ "$(apply_status)" = pending-reboot ] || die "a static reset waits for the reboot: $(apply_status)"

log "rewind param-group"
rewind_cli param-group create cli-pg --description "from the CLI" | grep -q cli-pg || die "cli create"
rewind_cli param-group set cli-pg max_connections=222 || die "cli set"
rewind_cli param-group set cli-pg innodb_log_buffer_size=8388608 --pending-reboot || die "cli set static"
rewind_cli param-group show cli-pg | grep -q "max_connections *222" || die "cli show"
out=$(rewind_cli param-group set cli-pg plugin_dir=x 2>&1) && die "cli accepted plugin_dir"
grep -q "InvalidParameterValue.*plugin_dir" <<<"$out" || die "cli refusal: $out"
rewind_cli param-group reset cli-pg max_connections || die "cli reset"
rewind_cli param-group list | grep -q cli-pg || die "cli list"
rewind_cli param-group delete cli-pg || die "cli delete"

log "clean up"
aws_rds modify-db-cluster --db-cluster-identifier pc \
  --db-cluster-parameter-group-name default.aurora-mysql8.0 >/dev/null
aws_rds delete-db-cluster-parameter-group --db-cluster-parameter-group-name pg
log "PASS"
