#!/usr/bin/env bash
# What changed (issue 17), through the real `rewind` CLI and mysql against real mariadbd:
# `rewind diff` between two times in all three formats — rows by primary key (numeric and
# string keys, NULLs, binary bytes, tabs and newlines in values), a table without a key compared
# by whole rows (and said so), a table created, one dropped and one altered in between — and
# the sql undo, applied to the cluster in its T2 state, gives T1's tables (CHECKSUM TABLE).
source "$(dirname "$0")/lib.sh"
MASTER_PASSWORD="Diff-pass-$RANDOM"
REWIND="$BUILD_DIR/src/cli/rewind"
rw() { "$REWIND" --endpoint "http://127.0.0.1:$API_PORT" --credentials "$DATA/credentials" "$@"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%NZ | sed 's/\([0-9]\{6\}\)[0-9]*Z$/\1Z/'; }
now() { date +%s.%N; }

e2e_start
create_cluster_with_writer df 3600
sql df "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(40), n INT);
  INSERT INTO items SELECT seq, CONCAT('item-', seq), seq FROM seq_1_to_2000;
  CREATE TABLE nokey (a INT, b VARCHAR(10));
  INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, NULL), (3, 'y');
  CREATE TABLE strs (k VARCHAR(20) PRIMARY KEY, t TEXT, bin VARBINARY(16)) COLLATE utf8mb4_general_ci;
  INSERT INTO strs VALUES ('a', 'tab\there', X'00FF0A'), ('B', 'line\nbreak', NULL),
    ('c', NULL, X''), ('D', 'it''s', X'5C');
  CREATE TABLE dropped_later (id INT PRIMARY KEY, s VARCHAR(10));
  INSERT INTO dropped_later VALUES (1, 'one'), (2, 'two');
  CREATE TABLE altered (id INT PRIMARY KEY, s VARCHAR(10));
  INSERT INTO altered VALUES (1, 'one'), (2, 'two')"
sleep 1.2
T1=$(now)
TABLES="items nokey strs dropped_later altered"
declare -A SUM1
for t in $TABLES; do SUM1[$t]=$(sql df "CHECKSUM TABLE $t" | awk '{print $2}'); done
sleep 1.2
sql df "DELETE FROM items WHERE id % 100 = 0; UPDATE items SET n = -n, v = NULL WHERE id % 250 = 1;
  INSERT INTO items VALUES (5000, 'new', 5);
  DELETE FROM nokey WHERE a = 1 LIMIT 1; INSERT INTO nokey VALUES (4, 'z'), (2, NULL);
  UPDATE strs SET bin = X'0102' WHERE k = 'a'; DELETE FROM strs WHERE k = 'B';
  INSERT INTO strs VALUES ('b', 'lower b', X'FF');
  CREATE TABLE created_later (id INT PRIMARY KEY); INSERT INTO created_later VALUES (1);
  DROP TABLE dropped_later;
  ALTER TABLE altered ADD COLUMN extra INT DEFAULT 7; UPDATE altered SET s = 'TWO' WHERE id = 2"
sleep 1.2
T2=$(now)
sleep 1.2

log "table format"
OUT=$(rw diff df --from "$(iso "$T1")" --to "$(iso "$T2")")
echo "$OUT" | head -30 | sed 's/^/    /'
echo "$OUT" | grep -q "^mylab.items: schema unchanged; rows by primary key (id)$" || die "items header"
echo "$OUT" | grep -q "^  1 inserted, 20 deleted, 8 updated$" || die "items counts: $OUT"
echo "$OUT" | grep -q "^mylab.nokey: schema unchanged; rows compared by whole rows (no primary key)$" ||
  die "nokey header"
echo "$OUT" | grep -q "^  ~ updated  id=1: v: 'item-1' -> NULL; n: 1 -> -1$" || die "update line"
echo "$OUT" | grep -q "^mylab.created_later: schema created" || die "created"
echo "$OUT" | grep -q "^mylab.dropped_later: schema dropped" || die "dropped"
echo "$OUT" | grep -q "^mylab.altered: schema altered" || die "altered"
echo "$OUT" | grep -q "^  ~ updated  id=2: s: 'two' -> 'TWO'$" || die "altered rows compared: $OUT"

log "one table, json"
JSON=$(rw diff df --from "$(iso "$T1")" --to "$(iso "$T2")" --table mylab.strs --format json)
python3 - "$JSON" <<'PY' || die "json: $JSON"
import json, sys
d = json.loads(sys.argv[1])
assert len(d) == 1 and d[0]["table"] == "mylab.strs" and d[0]["compared_by"] == "primary key", d
ops = [(c["op"], (c.get("before") or c.get("after"))["k"]) for c in d[0]["changes"]]
# byte order of the key: 'B' < 'a' < 'b'
assert ops == [("delete", "B"), ("update", "a"), ("insert", "b")], ops
upd = d[0]["changes"][1]
assert upd["before"]["bin"] == "0x00FF0A" and upd["after"]["bin"] == "0x0102", upd
assert upd["before"]["t"] == "tab\there", upd
assert d[0]["counts"] == {"inserted": 1, "deleted": 1, "updated": 1}, d[0]["counts"]
PY

log "sql undo applied to the T2 state gives T1"
rw diff df --from "$(iso "$T1")" --to "$(iso "$T2")" --format sql >"$E2E_DIR/undo.sql"
grep -q "no primary key" "$E2E_DIR/undo.sql" || die "the undo does not say nokey has no key"
HOST=$(cluster_field df Endpoint); PORT=$(cluster_field df Port)
mysql -h "$HOST" -P "$PORT" -u masteruser -p"$MASTER_PASSWORD" mylab <"$E2E_DIR/undo.sql" ||
  die "the undo failed: $(head -40 "$E2E_DIR/undo.sql")"
for t in $TABLES; do
  got=$(sql df "CHECKSUM TABLE $t" | awk '{print $2}')
  [ "$got" = "${SUM1[$t]}" ] || die "$t after the undo: checksum $got, at T1 ${SUM1[$t]}"
done
[ -z "$(sql df "SHOW TABLES LIKE 'created_later'")" ] || die "created_later survived the undo"
OUT=$(rw diff df --from "$(iso "$T1")" --to now)
[ "$OUT" = "No changes." ] || die "after the undo the diff to T1 is not empty: $OUT"

log "errors"
OUT=$(rw diff df --from "$(iso "$T1")" --to now --table mylab.nosuch 2>&1) && die "unknown table"
echo "$OUT" | grep -q InvalidParameterValue || die "unknown table: $OUT"
OUT=$(rw diff df --from 2001-01-01T00:00:00Z --to now 2>&1) && die "outside the window"
echo "$OUT" | grep -q InvalidParameterValue || die "outside the window: $OUT"
OUT=$(rw diff df --from "$(iso "$T1")" --to now --format xml 2>&1) && die "bad format"
echo "$OUT" | grep -q InvalidParameterValue || die "bad format: $OUT"
[ "$(find "$DATA/mnt" -maxdepth 1 -name '.asof-*' | wc -l)" = 0 ] || die "short-lived instances left"
log "PASS"
