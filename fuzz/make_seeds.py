#!/usr/bin/env python3
"""Writes the hand-made seed corpora in fuzz/corpus/<target>/ (run from anywhere; idempotent).

Each target's first input byte picks its mode (see the comment at the top of the *_fuzz.cc file);
the seeds cover every mode with a few typical and a few malformed inputs. The files are committed;
re-run this only to change them.
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- form_fuzz: request bodies -------------------------------------------------------------------
FORMS = {
    "describe": "Action=DescribeDBClusters&Version=2014-10-31&DBClusterIdentifier=mylab",
    "backtrack": "Action=BacktrackDBCluster&Version=2014-10-31&DBClusterIdentifier=mylab"
                 "&BacktrackTo=2026-11-25T10%3A00%3A00Z&UseEarliestTimeOnPointInTimeUnavailable=true",
    "filters": "Action=DescribeDBClusters&Filters.Filter.1.Name=engine"
               "&Filters.Filter.1.Values.Value.1=aurora-mysql&Filters.Filter.1.Values.Value.2=x"
               "&Filters.Filter.2.Name=db-cluster-id&Filters.Filter.2.Values.Value.1=mylab",
    "tags": "Action=CreateDBCluster&Tags.Tag.1.Key=env&Tags.Tag.1.Value=lab+one&Tags.Tag.2.Key=k",
    "lists": "EventCategories.EventCategory.1=backtrack&EventCategories.EventCategory.3=failure"
             "&VpcSecurityGroupIds.member.1=sg-1&Empty=",
    "ints": "BacktrackWindow=259200&MaxRecords=100&Port=+3306&Neg=-5&Big=99999999999999999999",
    "escapes": "Name=a%20b%2Bc%2fd%7E&%41ction=x&Plus=1+2&Pct=100%25",
    "bad_escape": "Action=Describe&Bad=%G1",
    "truncated_escape": "Action=%4",
    "duplicate": "A=1&A=2",
    "empty_segments": "&&A=1&&B&=3",
    "bools": "CopyTagsToSnapshot=TRUE&Force=false&Maybe=yes&T=2026-11-25T10:00:00.250+02:00",
}
for name, body in FORMS.items():
    write("form_fuzz", name, body)

# --- timeparse_fuzz: even first byte = text mode, odd = value mode ------------------------------
TEXTS = ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.123456789Z", "2026-11-25 12:00:00+02:00",
         "2026-11-25t10:00:00,5z", "1678-01-01T00:00:00Z", "2261-12-31T23:59:59.999999999Z",
         "2024-02-29T00:00:00-0530", "2026-11-25T10:00:00", "now", "90 seconds ago",
         "1h30m ago", "2.5 minutes and 3 weeks ago", "1795600800.25", "20261125T083223Z",
         "9999999999999999999999999 weeks ago"]
for i, t in enumerate(TEXTS):
    write("timeparse_fuzz", "text%02d" % i, "0" + t)
write("timeparse_fuzz", "values0", b"1" + bytes(range(64)))
write("timeparse_fuzz", "values1", b"1" + bytes([0xff] * 48))

# --- record_fuzz: mode 0 (as on disk), 1 (CRC fixed up), 2 (structured) -------------------------


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def mask(crc):  # common/crc32c.h: rotate right by 15, add a constant
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def record(kind, lsn, time_ns, payload, version=1, flags=0):
    rest = struct.pack("<IBBHIQq", len(payload), version, kind, flags, 0, lsn, time_ns) + payload
    return struct.pack("<I", mask(crc32c(rest))) + rest


def zstd_frame(data):  # one zstd frame, by the zstd command line tool (Debian package zstd)
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["zstd", "-q", "-1", "-c", "--no-check", f.name], check=True,
                              capture_output=True).stdout


def compressed_write(offset, chunks):
    """A compressed Write's data (src/store/compress.h): chunks are (raw bytes, compress?)."""
    raw = b"".join(c for c, _ in chunks)
    stored = [zstd_frame(c) if z else c for c, z in chunks]
    body = struct.pack("<I", len(raw)) + b"".join(struct.pack("<H", len(s)) for s in stored)
    return struct.pack("<QQQ", 2, 5, offset) + body + b"".join(stored)


RECORDS = {
    "write": record(1, 7, 99, struct.pack("<QQQ", 2, 5, 12345) + b"payload bytes"),
    "create": record(2, 8, 100, struct.pack("<QQQBIIII", 2, 1, 6, 1, 0o644, 0, 0, 0) + b"ibdata1"),
    "remove": record(3, 9, 101, struct.pack("<QQB", 2, 1, 1) + b"dir"),
    "rename": record(4, 10, 102, struct.pack("<QQQBH", 3, 1, 9, 1, 7) + b"old.frmnew.frm"),
    "setattr": record(5, 11, 103, struct.pack("<QQIIIIQqq", 2, 6, 1 | 2, 0o600, 1, 2, 4096, 5, 6)),
    "branch": record(6, 12, 104, struct.pack("<QQQ", 4, 2, 11)),
    "create_volume": record(7, 13, 105, struct.pack("<QQ", 1, 2) + b"mylab"),
    "rewind": record(8, 14, 106, struct.pack("<QQQQ", 1, 5, 2, 12)),
    "clone": record(9, 15, 107, struct.pack("<QQQQ", 2, 6, 2, 12) + b"mylab-clone"),
    "delete_volume": record(10, 16, 108, struct.pack("<Q", 2)),
    # Version 2, flag 1: a compressed write across a page boundary, one frame and one raw chunk.
    "write_zstd": record(1, 17, 109, compressed_write(16384 - 1000, [
        (b"0123456789-" * 90 + b"0123456789", True), (bytes(range(256)) * 4, False)]), 2, 1),
}
for name, rec in RECORDS.items():
    write("record_fuzz", "disk_" + name, b"\x00" + rec)
    write("record_fuzz", "fixcrc_" + name, b"\x01" + b"\0\0\0\0" + rec[4:])
write("record_fuzz", "disk_zero_header", b"\x00" + bytes(32))
write("record_fuzz", "struct0", b"\x02" + bytes(range(256)))
write("record_fuzz", "struct1", b"\x02" + b"\x07" * 200 + b"name\x00data")

# --- sigv4_fuzz: even first byte = hostile request, odd = signed round trip --------------------
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAFUZZFUZZFUZZFUZZ/20261125/us-east-1/rds/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
write("sigv4_fuzz", "hostile_auth", b"\x00" + AUTH.encode() + b"\x00" * 8 + b"20261125T083223Z")
write("sigv4_fuzz", "hostile_bytes", b"\x02" + bytes(range(256)))
write("sigv4_fuzz", "hostile_body", b"\x04POST\x00/\x00" + b"Action=DescribeDBClusters" * 4)
write("sigv4_fuzz", "signed0", b"\x01" + bytes(range(128)))
write("sigv4_fuzz", "signed1", b"\x03" + b"Action=DescribeDBClusters&Version=2014-10-31" + bytes(40))
write("sigv4_fuzz", "signed2", b"\x05" + bytes([0xff] * 96))
