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
