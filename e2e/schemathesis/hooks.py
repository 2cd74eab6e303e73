"""Schemathesis hooks of the contract fuzz (`e2e/tests/system/fuzz.rs`).

Loaded through `SCHEMATHESIS_HOOKS`. Two things schemathesis cannot know from
the OpenAPI documents alone:

* `schema_valid_request_not_refused_as_malformed`, a check: a request that
  fits the document (schemathesis's positive mode) may be refused for a
  business reason the document cannot express (`404 store_not_found`, `409
  invalid_transition`, `422 slot_full`, `400 invalid_cursor` for a
  well-formed cursor that names no order of the list), but never as malformed.
  A `4xx` whose problem `code` says the input is malformed, or whose `errors`
  lists invalid fields, means the document accepts what the server refuses:
  the document is missing a rule. A `4xx` without a problem `code` is a
  finding too, since every error of ours carries one.

* Signing the feedback requests of pos-bridge: they are authenticated by an
  HMAC-SHA256 of `{timestamp}.{body}` with the store's feedback secret
  (`QSR_FUZZ_FEEDBACK_SECRET`). A generated request whose signature headers
  are well-formed (as the document states them) is signed for real, as a
  display would, over the exact bytes sent; a request whose headers
  schemathesis made malformed or left out on purpose goes as generated, so
  the server's refusal of it is still tested.
"""

import hashlib
import hmac
import os
import re
import time

import requests
import schemathesis

# The problem codes that say "your input is malformed", as opposed to "your
# input is well-formed but the business refuses it".
MALFORMED = {
    "validation_failed",
    "invalid_query",
    "invalid_json",
    "malformed_body",
    "invalid_last_event_id",
    "unsupported_media_type",
    # RFC 6749's, of identity's token endpoint.
    "invalid_request",
}
# Not `payload_too_large`: a body over a service's size limit (`413`, which
# the documents list) is refused for its bytes, a bound no JSON Schema states;
# a large generated menu reaches it.

FEEDBACK_PATH = re.compile(r"^/v1/feedback/[^/]+/(kds|stock)$")
OAUTH_TOKEN_PATH = re.compile(r"^/v1/auth/token$")
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
SIGNATURE = re.compile(r"^v1=[0-9a-f]{64}$")


@schemathesis.check
def schema_valid_request_not_refused_as_malformed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except Exception:
        body = None
    if isinstance(body, dict) and OAUTH_TOKEN_PATH.match(case.formatted_path):
        # RFC 6749 §5.2: the token endpoint's errors name an `error`.
        body = {"code": body.get("error"), "detail": body.get("error_description")}
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        raise AssertionError(
            f"a schema-valid request got {response.status_code} without a problem `code`"
        )
    code = body["code"]
    if code in MALFORMED or body.get("errors"):
        raise AssertionError(
            f"a schema-valid request was refused as malformed: {response.status_code} "
            f"`{code}`: {body.get('detail')!r} {body.get('errors') or ''}\n"
            "The document accepts what the server refuses: state the rule in the document."
        )
    return None


class _SignBody(requests.auth.AuthBase):
    """Signs the prepared request over the bytes that go on the wire."""

    def __init__(self, secret):
        self.secret = secret.encode()

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        timestamp = str(int(time.time()))
        mac = hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256)
        request.headers["x-qsr-timestamp"] = timestamp
        request.headers["x-qsr-signature"] = "v1=" + mac.hexdigest()
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    secret = os.environ.get("QSR_FUZZ_FEEDBACK_SECRET")
    if not secret or not FEEDBACK_PATH.match(case.formatted_path):
        return
    headers = {name.lower(): value for name, value in (case.headers or {}).items()}
    timestamp = headers.get("x-qsr-timestamp")
    signature = headers.get("x-qsr-signature")
    if (
        isinstance(timestamp, str)
        and isinstance(signature, str)
        and TIMESTAMP.match(timestamp)
        and SIGNATURE.match(signature)
    ):
        kwargs["auth"] = _SignBody(secret)
