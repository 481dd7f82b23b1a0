"""Schemathesis hooks for .ci/api-fuzz/run.sh: record every accepted submission (POST /submit and
POST /submit/batch answered 200 or 201) as one JSON line in $API_FUZZ_ACCEPTED, so verify.mjs can
check afterwards that the database holds exactly the steps the accepted requests created."""
import json
import os

import schemathesis

ACCEPTED = os.environ["API_FUZZ_ACCEPTED"]


@schemathesis.hook
def after_call(context, case, response):
    if case.method.upper() != "POST" or case.path not in ("/submit", "/submit/batch"):
        return
    if response.status_code not in (200, 201):
        return
    record = {"path": case.path, "status": response.status_code, "body": json.loads(response.content), "request": case.body}
    with open(ACCEPTED, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


# Workflow parents (`depends_on`) must name existing steps or earlier items of the same batch: rules
# JSON Schema cannot state, so a schema-valid reference drawn at random is refused with 400 (as the
# API promises) and the positive-data check would count that as a bug. Schema-valid reference lists
# are rewritten into ones the API can resolve (earlier items of the batch; none outside a batch),
# which keeps the happy path of workflows under the fuzzer. A list that breaks the schema (too long,
# a malformed reference) is left alone, so negative cases stay negative.
MAX_PARENTS = 100


def _schema_valid_reference(ref):
    if isinstance(ref, str):
        return 1 <= len(ref) <= 100
    if not isinstance(ref, dict) or set(ref) != {"index"}:
        return False
    index = ref["index"]
    # JSON Schema's integer admits 2.0 as well as 2.
    whole = (isinstance(index, int) and not isinstance(index, bool)) or (isinstance(index, float) and index.is_integer())
    return whole and index >= 0


def _resolvable(refs, position):
    if not isinstance(refs, list) or len(refs) > MAX_PARENTS or not all(_schema_valid_reference(r) for r in refs):
        return refs
    if not position:
        return []
    earlier = sorted({int(r["index"] if isinstance(r, dict) else len(r)) % position for r in refs})
    return [{"index": i} for i in earlier]


# Rewritten just before the request is sent, so every phase (coverage, fuzzing, stateful) is covered.
@schemathesis.hook
def before_call(context, case, **kwargs):
    body = case.body
    if case.method.upper() != "POST" or case.path not in ("/submit", "/submit/batch") or not isinstance(body, dict):
        return
    if "depends_on" in body:
        body["depends_on"] = _resolvable(body["depends_on"], None)
    steps = body.get("steps")
    if isinstance(steps, list):
        for position, item in enumerate(steps):
            if isinstance(item, dict) and "depends_on" in item:
                item["depends_on"] = _resolvable(item["depends_on"], position)
