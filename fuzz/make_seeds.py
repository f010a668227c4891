#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/ from real inputs: the bank's manifests, the CQL
the services run, JSON bodies of the scenario API, and bus/store request sequences
encoded with protoc (text format -> binary, framed as fuzz/fuzz_util.h's FrameReader
expects). Re-run after changing it; the fuzzers' own finds are merged with -merge=1.
Usage: fuzz/make_seeds.py [--protoc protoc]"""
import pathlib
import shutil
import struct
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
PROTOC = sys.argv[sys.argv.index("--protoc") + 1] if "--protoc" in sys.argv else "protoc"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data if isinstance(data, bytes) else data.encode())


def encode(proto, message, text):
    return subprocess.run([PROTOC, "-I", str(ROOT / "proto"), "--encode=" + message, proto],
                          input=text.encode(), capture_output=True, check=True).stdout


def frames(calls):
    out = b""
    for selector, payload in calls:
        out += struct.pack("<BH", selector, len(payload)) + payload
    return out


# ---- manifest: the real manifests and a few broken ones ------------------------------
write("manifest", "bank.yaml", (ROOT / "bank.yaml").read_text())
for m in sorted((ROOT / "manifests").glob("*.yaml")):
    write("manifest", m.name, m.read_text())
write("manifest", "cycle.yaml", "services:\n  a: {command: /bin/true, depends_on: [b]}\n"
      "  b: {command: /bin/true, depends_on: {a: {condition: started}}}\n")
write("manifest", "vars.yaml", "name: x\nservices:\n  s:\n    command: ${BIN}/s\n    args: [--port, '${PORT}']\n"
      "    env: {A: '${UNKNOWN}'}\n    health: {type: tcp, interval: 1s}\n    restart: on-failure\n")

# ---- CQL: what the services and the store tests run ----------------------------------
CQL = {
    "create_keyspace": "CREATE KEYSPACE IF NOT EXISTS ledger WITH replication = {'class': 'SimpleStrategy', "
                       "'replication_factor': 3}",
    "create_nts": "CREATE KEYSPACE bank WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2} "
                  "AND durable_writes = true",
    "create_table": "CREATE TABLE IF NOT EXISTS ledger.entries (address text, entryset_id text, leg int, "
                    "amount bigint, currency text, PRIMARY KEY (address, entryset_id, leg)) "
                    "WITH CLUSTERING ORDER BY (entryset_id DESC, leg ASC) AND gc_grace_seconds = 10",
    "create_compound": "CREATE TABLE t (a text, b int, c blob, d boolean, e uuid, f timestamp, g decimal, "
                       "h timeuuid, PRIMARY KEY ((a, b), f))",
    "insert_lwt": "INSERT INTO ledger.idempotency (idempotency_key, kind, result_id, fingerprint, state, created_us) "
                  "VALUES (?, ?, ?, ?, 'claimed', ?) IF NOT EXISTS",
    "insert_ttl": "INSERT INTO sessions (token_hash, user_id, expires_us) VALUES (?, ?, ?) USING TTL 3600 "
                  "AND TIMESTAMP 1700000000000000;",
    "update_cas": "UPDATE ledger.holds SET state = 'settled', ended_us = ? WHERE hold_id = ? IF state = 'active'",
    "update_set": "UPDATE ledger.balances USING TTL 10 SET settled = ?, held = ?, entry_count = ? "
                  "WHERE address = ? AND currency = 'GBP' IF settled = ? AND held = ?",
    "delete_range": "DELETE FROM ledger.entries WHERE address = 'a' AND entryset_id >= 'x' AND entryset_id < 'y'",
    "delete_cols": "DELETE settled, held FROM ledger.balances USING TIMESTAMP 5 WHERE address = ? AND currency = ? "
                   "IF EXISTS",
    "select": "SELECT entryset_id, leg, amount FROM ledger.entries WHERE address = ? AND entryset_id > ? "
              "ORDER BY entryset_id DESC LIMIT 10",
    "select_star": "select * from idempotency where idempotency_key = 'k-1'",
    "batch": "BEGIN BATCH USING TIMESTAMP 12 INSERT INTO cards (card_id, account_id, token) VALUES (?, ?, ?); "
             "INSERT INTO cards_by_account (account_id, card_id) VALUES (?, ?); "
             "UPDATE a SET x = null WHERE k = 1; DELETE FROM b WHERE k = -2; APPLY BATCH",
    "literals": "INSERT INTO t (a, b, c, d, e, f, g) VALUES ('it''s', -9223372036854775808, 0xCAFE, true, "
                "6ba7b810-9dad-11d1-80b4-00c04fd430c8, 1.5e3, -12.50)",
    "misc": "USE ledger; TRUNCATE ledger.entries; DROP TABLE IF EXISTS x; DROP KEYSPACE IF EXISTS y",
    "comments": "-- a comment\nSELECT /* inline */ a FROM \"Quoted\".\"T\" // rest\nWHERE a = ?",
}
for name, cql in CQL.items():
    write("cql", name, cql)

# ---- JSON <-> protobuf: scenario API bodies --------------------------------------------
JSON = {
    "produce": ("sandbank.bus.ProduceRequest",
                '{"topic": "payments", "records": [{"key": "YWNjLTE=", "value": "eyJhbW91bnQiOjEwMH0=", '
                '"headers": [{"key": "traceparent", "value": "MDAtYWJj"}], "partition": 2}], '
                '"clientId": "ledger", "producer_id": "7", "base_sequence": 0}'),
    "join": ("sandbank.bus.JoinGroupRequest",
             '{"group": "ledger", "topics": ["payments", "cards"], "session_timeout_ms": 10000, '
             '"assignor": "roundrobin", "auto_offset_reset": "earliest"}'),
    "fault": ("sandbank.bus.FaultRequest", '{"leader_unavailable": {"topic": "payments", "partition": 0, '
                                            '"duration_ms": "1500"}}'),
    "execute": ("sandbank.store.ExecuteRequest",
                '{"cql": "SELECT * FROM ledger.balances WHERE address = ?", "values": [{"text": "acc-1"}, '
                '{"int": "-5"}, {"boolean": true}, {"blob": "AAE="}, {"decimal": "12.50"}], '
                '"consistency": "CL_QUORUM", "timestampUs": "1700000000000000", "page_size": 10}'),
    "empty": ("sandbank.store.Empty", "{}"),
    "method_produce": ("/sandbank.bus.Bus/Produce", '\n\x08payments\x12\x05\x12\x03abc'),
    "method_unknown": ("/acme.Greeter/Hello", "\x0a\x02hi"),
}
for name, (head, body) in JSON.items():
    write("json_proto", name, head + "\n" + body)

# ---- bus: request sequences ------------------------------------------------------------
BUS = "sandbank/bus.proto"
def bus(message, text):
    return encode(BUS, "sandbank.bus." + message, text)

write("bus_grpc", "produce_consume", frames([
    (9, bus("CreateTopicRequest", 'name: "payments" partitions: 3')),
    (1, b""),
    (0, bus("ProduceRequest", 'topic: "payments" client_id: "ledger" producer_id: 1 base_sequence: 0 '
                              'records { key: "acc-1" value: "{\\"amount\\":100}" '
                              'headers { key: "traceparent" value: "00-abc-def-01" } } '
                              'records { value: "keyless" timestamp_us: 5 partition: 1 }')),
    (2, bus("JoinGroupRequest", 'group: "ledger" client_id: "ledger" topics: "payments" '
                                'auto_offset_reset: "earliest" assignor: "roundrobin"')),
    (3, bus("HeartbeatRequest", 'group: "ledger" member_id: "ledger-1" generation: 1')),
    (5, bus("CommitRequest", 'group: "ledger" member_id: "ledger-1" generation: 1 '
                             'offsets { topic: "payments" partition: 0 offset: 1 }')),
    (6, bus("NackRequest", 'group: "ledger" member_id: "ledger-1" generation: 1 topic: "payments" '
                           'partition: 1 offset: 0 reason: "bad"')),
    (7, bus("SeekRequest", 'group: "ledger" member_id: "ledger-1" generation: 1 topic: "payments" '
                           'partition: 2 offset: 0')),
    (8, bus("PauseRequest", 'group: "ledger" member_id: "ledger-1" generation: 1 '
                            'partitions { topic: "payments" partition: 0 }')),
    (15, bus("BrowseRequest", 'topic: "payments" partition: 1 offset: -1 max_records: 10')),
    (14, bus("DescribeGroupRequest", 'group: "ledger"')),
    (12, bus("DescribeGroupRequest", 'group: "ledger"')),
    (17, b"\x00\x00\x30\x00"),
    (4, bus("LeaveGroupRequest", 'group: "ledger" member_id: "ledger-1"')),
    (11, b""),
    (13, b""),
]))
write("bus_grpc", "faults", frames([
    (9, bus("CreateTopicRequest", 'name: "cards" partitions: 2 retention_ms: 1000 compacted: true')),
    (16, bus("FaultRequest", 'leader_unavailable { topic: "cards" partition: 1 duration_ms: 500 }')),
    (16, bus("FaultRequest", 'lose_produce_acks { topic: "cards" count: 1 }')),
    (16, bus("FaultRequest", 'stall_group { group: "g" stalled: true }')),
    (16, bus("FaultRequest", 'duplicate_deliveries { group: "g" count: 2 }')),
    (0, bus("ProduceRequest", 'topic: "cards" records { key: "k" value: "v" } records { key: "k" value: "" }')),
    (17, b"\x00\x00\x10\x00"),
    (0, bus("ProduceRequest", 'topic: "cards" records { key: "k" value: "w" }')),
    (16, bus("FaultRequest", 'clear {}')),
    (10, bus("DeleteTopicRequest", 'name: "cards"')),
    (15, bus("BrowseRequest", 'topic: "cards" partition: 5')),
]))

# ---- store: request sequences ----------------------------------------------------------
STORE = "sandbank/store.proto"
def store(message, text):
    return encode(STORE, "sandbank.store." + message, text)

def q(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')

write("store_grpc", "ledger_writes", frames([
    (0, store("ExecuteRequest", 'cql: "' + q("INSERT INTO ledger.balances (address, currency, settled, held, "
                                              "entry_count) VALUES (?, ?, ?, ?, ?)") + '" '
                                'values { text: "acc-1" } values { text: "GBP" } values { int: 100 } '
                                'values { int: 0 } values { int: 1 } consistency: CL_QUORUM')),
    (1, store("PrepareRequest", 'cql: "' + q("UPDATE balances SET settled = ? WHERE address = ? AND currency = ? "
                                              "IF settled = ?") + '" keyspace: "ledger"')),
    (0, store("ExecuteRequest", 'cql: "' + q("SELECT * FROM ledger.balances WHERE address = 'acc-1'") + '" '
                                'page_size: 1 consistency: CL_ALL')),
    (0, store("ExecuteRequest", 'cql: "' + q("INSERT INTO ledger.idempotency (idempotency_key, kind) VALUES "
                                              "('k', 'p') IF NOT EXISTS") + '" serial_consistency: CL_LOCAL_SERIAL')),
    (0, store("ExecuteRequest", 'cql: "' + q("INSERT INTO ledger.entries (address, entryset_id, leg, amount) "
                                              "VALUES ('a', 'e1', 0, -100) USING TTL 5") + '" '
                                'timestamp_us: 1700000000000000 client_id: "ledger" coordinator: 2')),
    (2, store("NodeRequest", "node: 3")),
    (0, store("ExecuteRequest", 'cql: "' + q("DELETE FROM ledger.entries WHERE address = 'a' AND "
                                              "entryset_id = 'e1'") + '" consistency: CL_ONE')),
    (12, b""),
    (14, b"\x00\x00\x20\x00"),
    (3, store("NodeRequest", "node: 3")),
    (11, store("PartitionRequest", 'keyspace: "ledger" table: "entries" key { text: "a" }')),
    (13, b""),
]))
write("store_grpc", "topology", frames([
    (4, store("SlowRequest", "node: 1 added_latency_ms: 3000")),
    (5, store("IsolateRequest", "node: 2 isolated: true")),
    (6, store("AddNodeRequest", 'datacenter: "dc2" stream: false')),
    (8, store("ClientSkewRequest", 'client_id: "ledger" skew_ms: -5000')),
    (0, store("ExecuteRequest", 'cql: "' + q("UPDATE ledger.balances SET held = 5 WHERE address = 'b' AND "
                                              "currency = 'EUR'") + '" consistency: CL_EACH_QUORUM client_id: "ledger"')),
    (7, store("RepairRequest", 'keyspace: "ledger"')),
    (9, b""),
    (10, b""),
    (0, store("ExecuteRequest", 'prepared_id: "00000000000000000000000000000000"')),
]))
print("seeds written to", CORPUS)
