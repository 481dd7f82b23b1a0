"""
Test support: runs the fakesnow Snowflake emulator behind a small response adapter, so the
unmodified Node `snowflake-sdk` can talk to it. Owns the wire-format repairs only; it must not
change what a statement does.

fakesnow answers results as Arrow (`rowsetBase64`) and never sends `returned`; the Node driver
reads only a JSON `rowset` and streams exactly `returned` rows, so without this adapter every
SELECT fails and every DML hangs. fakesnow also answers an unhandled DuckDB error (for example a
write-write conflict) with HTTP 500, which the driver retries up to 16 times, re-running the
statement each time; the adapter answers it once, as a failed statement, and names a DuckDB
conflict with Snowflake's lock-waiter error 000625 so the store's retry classification is the
one exercised. Login gets `nop_regexes` for the ALTER SESSION settings fakesnow does not know.

Fault injection, for the driver-level tests of what the emulator cannot show (POST /__faults with
{"match": regex on the statement text, "action": "error" | "delay" | "lose_answer" | "reset", "times": n, "retries": n,
"code": "000625", "message": "...", "delay_ms": 3000}): "error" refuses the statement without running
it, as Snowflake refuses one that hit the lock-waiter limit or a lock timeout; "delay" holds the
answer back; "lose_answer" runs the statement and then answers HTTP 500, so the driver retries with
the same requestId and, as Snowflake does for a retried request, gets the first run's answer (the
statement is not run again); "reset" runs the statement and then drops the connection halfway
through the answer, for the first request and for the next "retries" requests with the same
requestId (a connection reset mid-claim; the statement still runs once). Without a fault, answers are also remembered by requestId for that.

Usage: python emulator.py PORT   (listens on 127.0.0.1; prints "listening PORT" when ready)
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import sys
import threading
from collections import OrderedDict

import pyarrow as pa
import sqlglot
import uvicorn

import duckdb
import snowflake.connector.errors
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.server import app as fakesnow_app
from sqlglot import exp

# Session settings a production session sets that fakesnow cannot run; answered as no-ops.
NOP_REGEXES = [r"^\s*ALTER\s+SESSION\s+SET\s+(LOCK_TIMEOUT|STATEMENT_TIMEOUT_IN_SECONDS|TIMEZONE|QUERY_TAG)\b.*"]


_execute = FakeSnowflakeCursor.execute


def execute_reporting_conflicts(self, *args, **kwargs):
    """DuckDB's optimistic write-write conflict, answered as Snowflake's lock-waiter error 000625."""
    try:
        return _execute(self, *args, **kwargs)
    except (duckdb.TransactionException, duckdb.ConstraintException) as e:
        # Two sessions creating one table at once collide in fakesnow's own catalog tables too.
        if isinstance(e, duckdb.ConstraintException) and "ext_table_" not in str(e):
            raise
        raise snowflake.connector.errors.OperationalError(
            msg=f"emulated lock conflict (DuckDB: {e})", errno=625, sqlstate="57014"
        ) from None


FakeSnowflakeCursor.execute = execute_reporting_conflicts

# fakesnow re-translates every statement (sqlglot), which is most of its time per statement; the
# store sends the same few statement texts over and over. Translations of plain DML and queries are
# memoized by text, database and schema (DDL and anything that may read the binds are not), and so
# are parses (the statement's, and the DESCRIBE of each query's result) by text and dialect. Each
# caller gets its own copy of a kept tree, as transforms may change a tree in place.
#
# Most tests work in a schema of their own (FQ_TEST_ and 12 hex digits: test/support/snowflake.ts),
# so one statement arrives under hundreds of schema names. A text naming exactly one such schema is
# kept under the text with that name replaced by a placeholder of the same shape, and the caller's
# copy gets its own name back in every identifier and string. A kept tree that still holds the
# name somewhere else is not kept that way (checked once per text).
_transform = FakeSnowflakeCursor._transform
_parse_one = sqlglot.parse_one
_current = threading.local()
_CACHEABLE = re.compile(r"^\s*(SELECT|UPDATE|INSERT|DELETE)\b", re.IGNORECASE)
_TEST_SCHEMA = re.compile(r"FQ_TEST_[0-9A-F]{12}")
_PLACEHOLDER = "FQ_TEST_MEMOSCHEMA00"
_KEPT = 4000
_UNKEPT = object()


class Memo:
    """The most recent `_KEPT` trees by key, shared by the server's worker threads."""

    def __init__(self):
        self.trees: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.trees.get(key)
            if found is not None:
                self.trees.move_to_end(key)
            return found

    def put(self, key, tree) -> None:
        with self.lock:
            self.trees[key] = tree
            while len(self.trees) > _KEPT:
                self.trees.popitem(last=False)


_translations = Memo()
_parses = Memo()


def schema_named_in(text: str):
    """The one test schema `text` names, or None (none, or several)."""
    names = set(_TEST_SCHEMA.findall(text))
    return names.pop() if len(names) == 1 else None


def generic_text(text, name: str | None):
    """`text` with the test schema `name` replaced by the placeholder; as it is without a name."""
    return text.replace(name, _PLACEHOLDER) if name is not None and text else text


def renamed(tree, old: str | None, new: str | None):
    """A copy of `tree` with `old` replaced by `new` in every identifier and string literal."""
    tree = tree.copy()
    if old is None or new is None:
        return tree
    for node in tree.walk():
        if isinstance(node, (exp.Identifier, exp.Literal)) and isinstance(node.this, str) and old in node.this:
            node.set("this", node.this.replace(old, new))
    return tree


def keep_generic(memo: Memo, key, tree, name: str | None, dialect: str) -> None:
    """Keeps `tree` with `name` replaced by the placeholder, or marks `key` as not kept that way."""
    generic = renamed(tree, name, _PLACEHOLDER)
    memo.put(key, _UNKEPT if name is not None and name in generic.sql(dialect=dialect) else generic)


def execute_remembering_text(self, command, *args, **kwargs):
    _current.command = command
    try:
        return execute_reporting_conflicts(self, command, *args, **kwargs)
    finally:
        _current.command = None


def transform_memoized(self, expression, params):
    command = getattr(_current, "command", None)
    if command is None or not _CACHEABLE.match(command) or "IDENTIFIER(" in command.upper():
        return _transform(self, expression, params)
    name = schema_named_in(command)
    key = (generic_text(command, name), generic_text(self._conn.database, name), generic_text(self._conn.schema, name))
    found = _translations.get(key)
    if found is _UNKEPT:
        return _transform(self, expression, params)
    if found is not None:
        return renamed(found, _PLACEHOLDER, name)
    result = _transform(self, expression, params)
    keep_generic(_translations, key, result, name, "duckdb")
    return result


def parse_one_memoized(sql, read=None, dialect=None, **opts):
    if opts or dialect is not None or not isinstance(read, str):
        return _parse_one(sql, read=read, dialect=dialect, **opts)
    name = schema_named_in(sql)
    key = (generic_text(sql, name), read)
    found = _parses.get(key)
    if found is _UNKEPT:
        return _parse_one(sql, read=read)
    if found is not None:
        return renamed(found, _PLACEHOLDER, name)
    tree = _parse_one(sql, read=read)
    keep_generic(_parses, key, tree, name, read)
    return tree


FakeSnowflakeCursor.execute = execute_remembering_text
FakeSnowflakeCursor._transform = transform_memoized
sqlglot.parse_one = parse_one_memoized


def encode(value, kind: str):
    """One Arrow value as Snowflake's JSON rowset encodes it (a string, or None)."""
    if value is None:
        return None
    kind = kind.upper()
    if kind.startswith("TIMESTAMP"):
        if isinstance(value, dict):
            text = f"{value['epoch']}.{value['fraction']:09d}"
            return f"{text} {value['timezone']}" if kind == "TIMESTAMP_TZ" else text
        return str(value)
    if kind == "BOOLEAN":
        return "1" if value else "0"
    if kind in ("VARIANT", "OBJECT", "ARRAY"):
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "BINARY":
        return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_json_rowset(data: dict) -> None:
    b64 = data.get("rowsetBase64")
    rows: list = []
    if b64:
        table = pa.ipc.open_stream(base64.b64decode(b64)).read_all()
        kinds = [c["type"] for c in data.get("rowtype", [])]
        columns = [col.to_pylist() for col in table.columns]
        rows = [[encode(v, kinds[i]) for i, v in enumerate(row)] for row in zip(*columns)]
    if "rowsetBase64" in data or "rowset" not in data:
        data.pop("rowsetBase64", None)
        data["queryResultFormat"] = "json"
        data["rowset"] = rows
    data["returned"] = len(data["rowset"])


def rewrite(path: str, status: int, body: bytes) -> tuple[int, bytes]:
    try:
        doc = json.loads(body)
    except ValueError:
        return status, body
    if status == 500:
        message = str(doc.get("message", ""))
        conflict = "conflict" in message.lower()
        code = "000625" if conflict else "261000"
        doc = {
            "data": {"errorCode": code, "sqlState": "57014" if conflict else "XX000"},
            "code": code,
            "message": message,
            "success": False,
        }
        return 200, json.dumps(doc).encode()
    if path == "/queries/v1/query-request" and doc.get("success") and isinstance(doc.get("data"), dict):
        to_json_rowset(doc["data"])
        return status, json.dumps(doc).encode()
    return status, body


FAULTS: list = []
# Answers by requestId, the most recent few thousand (a retry comes within seconds).
ANSWERS: OrderedDict = OrderedDict()
ANSWERS_KEPT = 5000
# Retries (by requestId) of a statement under a "reset" fault that are still to be cut off.
RESETS: dict = {}


class ConnectionReset(Exception):
    """Raised after half an answer was sent: the server closes the connection mid-response."""


def take_fault(sql_text: str):
    for fault in FAULTS:
        if fault["times"] > 0 and re.search(fault["match"], sql_text, re.IGNORECASE | re.DOTALL):
            fault["times"] -= 1
            return fault
    return None


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replaying(raw: bytes):
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay


async def answer(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def cut_off(send, body: bytes, headers=None) -> None:
    """Sends the head and half the body of an answer, then fails, so the server drops the connection."""
    headers = list(headers or [(b"content-type", b"application/json")]) + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise ConnectionReset("injected: connection reset mid-answer")


class Adapter:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path = scope["path"]
        if path == "/__faults":
            raw = await read_body(receive)
            FAULTS.append({**json.loads(raw), "times": json.loads(raw).get("times", 1)})
            await answer(send, 200, b'{"success": true}')
            return
        fault = None
        request_id = None
        if path == "/session/v1/login-request":
            receive = await self.with_nop_regexes(receive)
        elif path == "/queries/v1/query-request":
            raw = await read_body(receive)
            receive = replaying(raw)
            query = dict(p.split("=", 1) for p in scope.get("query_string", b"").decode().split("&") if "=" in p)
            request_id = query.get("requestId")
            if request_id is not None and RESETS.get(request_id, 0) > 0 and request_id in ANSWERS:
                RESETS[request_id] -= 1
                await cut_off(send, ANSWERS[request_id])
            if request_id is not None and request_id in ANSWERS:
                await answer(send, 200, ANSWERS[request_id])
                return
            try:
                sql_text = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).get("sqlText", "")
            except ValueError:
                sql_text = ""
            fault = take_fault(sql_text)
            if fault is not None and fault["action"] == "error":
                code = fault.get("code", "000625")
                doc = {"data": {"errorCode": code, "sqlState": fault.get("sql_state", "57014")}, "code": code, "message": fault.get("message", "injected fault"), "success": False}
                await answer(send, 200, json.dumps(doc).encode())
                return
            if fault is not None and fault["action"] == "delay":
                await asyncio.sleep(fault.get("delay_ms", 1000) / 1000)
        held: dict = {"status": 200, "headers": [], "body": b""}

        async def capture(message):
            if message["type"] == "http.response.start":
                held["status"] = message["status"]
                held["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
            elif message["type"] == "http.response.body":
                held["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    status, body = rewrite(path, held["status"], held["body"])
                    if request_id is not None and status == 200:
                        ANSWERS[request_id] = body
                        while len(ANSWERS) > ANSWERS_KEPT:
                            ANSWERS.popitem(last=False)
                    if fault is not None and fault["action"] == "lose_answer":
                        status, body = 500, b'{"success": false, "message": "injected: answer lost"}'
                    if fault is not None and fault["action"] == "reset" and status == 200:
                        if request_id is not None:
                            RESETS[request_id] = fault.get("retries", 0)
                        await cut_off(send, body, held["headers"])

                    headers = held["headers"] + [(b"content-length", str(len(body)).encode())]
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.inner(scope, receive, capture)

    @staticmethod
    async def with_nop_regexes(receive):
        raw = await read_body(receive)
        try:
            gz = raw[:2] == b"\x1f\x8b"
            doc = json.loads(gzip.decompress(raw) if gz else raw)
            doc["data"]["SESSION_PARAMETERS"]["nop_regexes"] = NOP_REGEXES
            raw = json.dumps(doc).encode()
            raw = gzip.compress(raw) if gz else raw
        except (ValueError, KeyError, TypeError):
            pass
        return replaying(raw)


def main() -> None:
    port = int(sys.argv[1])
    config = uvicorn.Config(Adapter(fakesnow_app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    print(f"listening {port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
