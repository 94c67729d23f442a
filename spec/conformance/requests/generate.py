"""Writes requests.json: the request corpus's inputs, each with the outcome recorded from the
`meshgate` Python package this runs with (its `Request.from_json`, which is the core's reader).

    cargo xtask python && target/python-venv/bin/python spec/conformance/requests/generate.py \
        spec/conformance/requests/requests.json

The outcomes were first recorded from the reader as it was before the request builder (issue
16), so the corpus pins that behaviour. After a deliberate change of the acceptance rules, run
this again and review the diff of requests.json.
"""
import json, sys
import meshgate

FULL = {"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend", "namespace": "shop", "service_account": "frontend", "trust_domain": "cluster.local", "labels": {"app": "web", "team": "t1"}, "ip": "10.1.2.3", "remote_ip": "203.0.113.9"},
        "destination": {"service": "payments.prod.svc.cluster.local", "namespace": "prod", "labels": {"app": "payments"}, "port": 8080, "ip": "10.9.8.7"},
        "request": {"method": "GET", "path": "/api/balance?x=1#f", "host": "payments:8443", "headers": {"X-Tenant": "a", "user-agent": "curl"},
                    "auth": {"principal": "https://issuer/alice", "presenter": "web", "audiences": ["payments", "ledger"], "claims": {"groups": ["admins", "users"], "level": 3, "ok": True, "realm": {"roles": ["a"], "n": -1}}}},
        "connection": {"sni": "payments.example.com"}, "time": "2026-03-29T01:30:00Z", "context": {"risk": 2, "tags": ["x"], "flag": False}}

def nest(n, leaf=1):
    v = leaf
    for _ in range(n):
        v = [v]
    return v

cases = []
def ok(name, why, request=None, json_text=None):
    cases.append({"name": name, "why": why, **({"request": request} if json_text is None else {"json": json_text})})
err = ok

# Accepted
ok("empty", "no field at all: every attribute absent", {})
ok("full", "every field of the shape", FULL)
ok("spiffe-only", "only a SPIFFE principal (the rest is derived when deciding, not when reading)", {"source": {"principal": "spiffe://td/ns/a/sa/b"}})
ok("ipv6", "IPv6 addresses", {"source": {"ip": "2001:db8::1", "remote_ip": "::1"}, "destination": {"ip": "fe80::1"}})
ok("ipv4-mapped", "an IPv4-mapped IPv6 address", {"source": {"ip": "::ffff:10.1.2.3"}})
ok("port-bounds", "the port's extremes", {"destination": {"port": 65535}})
ok("port-zero", "port 0", {"destination": {"port": 0}})
ok("time-offset", "a timestamp with an offset is read as that instant", {"time": "2026-03-29T03:30:00+02:00"})
ok("time-fraction", "fractional seconds", {"time": "2026-03-29T01:30:00.123456789Z"})
ok("claims-kinds", "strings, integers, booleans, lists and objects", {"request": {"auth": {"claims": {"s": "x", "i": -42, "b": True, "l": [1, "a", False, [2]], "o": {"p": {"q": "r"}}}}}})
ok("int-extremes", "the 64-bit integer extremes", json_text='{"context": {"max": 9223372036854775807, "min": -9223372036854775808}}')
ok("empty-containers", "empty maps and lists are kept as given", {"source": {"labels": {}}, "request": {"headers": {}, "auth": {"audiences": [], "claims": {}}}, "context": {"l": [], "o": {}}})
ok("empty-sections", "empty sections", {"source": {}, "destination": {}, "request": {"auth": {}}, "connection": {}})
ok("unicode", "non-ASCII and escaped characters are kept", {"request": {"path": "/caf\u00e9/\u2603", "headers": {"x-a": "tab\there"}}, "source": {"labels": {"\u00e9": "\u00fc"}}})
ok("nul-character", "a NUL character in a string", {"request": {"path": "/a\u0000b"}})
ok("order-kept", "labels, headers, claims and context keep their order", {"request": {"headers": {"b": "1", "a": "2", "c": "3"}}, "context": {"z": 1, "a": 2}})
ok("header-case-kept", "header names are stored as given", {"request": {"headers": {"X-Mixed-Case": "v"}}})
ok("depth-16", "lists nested 16 levels deep (the ceiling)", {"context": {"deep": nest(16)}})
ok("leading-whitespace", "white space before the object", json_text=' \n\t{"request": {"method": "GET"}}')
ok("list-1024", "a list of 1,024 items (the ceiling)", {"context": {"l": list(range(1024))}})
ok("headers-256", "256 headers (the default limit)", {"request": {"headers": {f"x-{i}": "v" for i in range(256)}}})

# Not an object
err("array", "a JSON array", json_text="[]")
err("string", "a JSON string", json_text='"GET /"')
err("null", "null", json_text="null")
err("number", "a number", json_text="42")
err("empty-text", "no text at all", json_text="")
err("truncated", "cut in the middle", json_text='{"source": {"principal": "spiffe://')
err("trailing-garbage", "a valid object followed by more", json_text="{} {}")
err("trailing-text", "a valid object followed by a word", json_text='{"request": {"path": "/a"}} x')
err("not-json", "not JSON", json_text="{source: {}}")
# Names
err("unknown-top-level", "a misspelt section", {"sourc": {}})
err("unknown-source-field", "a misspelt attribute", {"source": {"principle": "x"}})
err("unknown-destination-field", "an attribute of another section", {"destination": {"principal": "x"}})
err("unknown-request-field", "`request.query` does not exist", {"request": {"query": "a=1"}})
err("unknown-auth-field", "`request.auth.aud` (it is `audiences`)", {"request": {"auth": {"aud": ["a"]}}})
err("unknown-connection-field", "a section with one field", {"connection": {"tls": True}})
err("case-matters", "field names are case-sensitive", {"Source": {}})
# Duplicates
err("duplicate-section", "`source` twice", json_text='{"source": {"namespace": "a"}, "source": {"namespace": "b"}}')
err("duplicate-field", "`namespace` twice", json_text='{"source": {"namespace": "a", "namespace": "b"}}')
err("duplicate-field-before-bad-value", "the duplicate is reported before the second value is read", json_text='{"destination": {"port": 1, "port": "x"}}')
err("duplicate-time", "`time` twice", json_text='{"time": "2026-03-29T01:30:00Z", "time": "2026-03-29T01:30:00Z"}')
err("duplicate-label", "a label twice", json_text='{"source": {"labels": {"app": "a", "app": "b"}}}')
err("duplicate-header", "a header twice", json_text='{"request": {"headers": {"x-a": "1", "x-a": "2"}}}')
err("duplicate-claim", "a claim twice", json_text='{"request": {"auth": {"claims": {"sub": "a", "sub": "b"}}}}')
err("duplicate-nested-claim-key", "a key twice in a nested object", json_text='{"context": {"o": {"k": 1, "k": 2}}}')
# null
err("null-string-field", "`null` is not \"absent\"", {"source": {"principal": None}})
err("null-section", "a section cannot be null", {"source": None})
err("section-as-list", "a section is an object: the list of its fields' values in order, which serde's derive reads, is refused so that no value lands in a field by its position", {"source": ["spiffe://td/ns/a/sa/b", "ns"]})
err("section-as-empty-list", "nor is an empty list a section", {"source": []})
err("auth-as-list", "nor request.auth by position", {"request": {"auth": ["p", "q", ["a"], {"x": 1}]}})
err("section-list-wrong-type", "a list is refused before its values are read", {"source": [1]})
err("section-list-too-long", "whatever its length", {"connection": ["a", "b"]})
err("null-labels", "labels cannot be null", {"source": {"labels": None}})
err("null-label-value", "a label value cannot be null", {"source": {"labels": {"app": None}}})
err("null-context", "context cannot be null", {"context": None})
err("null-claim", "a claim value cannot be null", {"request": {"auth": {"claims": {"email": None}}}})
err("null-in-list", "nor an item of a list", {"context": {"l": [1, None]}})
err("null-audience", "nor an audience", {"request": {"auth": {"audiences": ["a", None]}}})
err("null-time", "time cannot be null", {"time": None})
err("null-port", "port cannot be null", {"destination": {"port": None}})
# Types
err("port-as-string", "`\"80\"`", {"destination": {"port": "80"}})
err("port-as-bool", "`true`", {"destination": {"port": True}})
err("port-negative", "-1", {"destination": {"port": -1}})
err("port-too-large", "65536", {"destination": {"port": 65536}})
err("port-float", "80.5", {"destination": {"port": 80.5}})
err("ip-as-integer", "an integer where an address goes", {"source": {"ip": 167772161}})
err("ip-malformed", "an octet beyond 255", {"source": {"ip": "10.0.0.300"}})
err("ip-with-port", "an address with a port", {"destination": {"ip": "10.0.0.1:80"}})
err("ip-cidr", "a network where an address goes", {"source": {"remote_ip": "10.0.0.0/8"}})
err("time-malformed", "not a timestamp", {"time": "now"})
err("time-month", "month 13", {"time": "2026-13-01T00:00:00Z"})
err("time-without-offset", "a civil time without an offset", {"time": "2026-03-29T01:30:00"})
err("time-as-integer", "seconds since the epoch", {"time": 1774747800})
err("labels-as-list", "labels are an object", {"source": {"labels": ["app=web"]}})
err("label-value-int", "label values are strings", {"destination": {"labels": {"v": 2}}})
err("header-value-list", "a header's values are one string", {"request": {"headers": {"x-a": ["1", "2"]}}})
err("audiences-as-string", "audiences are a list", {"request": {"auth": {"audiences": "a"}}})
err("audience-int", "audiences are strings", {"request": {"auth": {"audiences": [1]}}})
err("claims-as-list", "claims are an object", {"request": {"auth": {"claims": [1]}}})
err("context-as-string", "context is an object", {"context": "x"})
err("method-int", "a method is a string", {"request": {"method": 1}})
err("principal-bool", "a principal is a string", {"source": {"principal": True}})
err("section-as-string", "a section is an object", {"request": "GET /"})
# Values
err("float-context", "a floating-point context value", {"context": {"x": 1.5}})
err("float-in-list", "a float inside a claim list", {"request": {"auth": {"claims": {"l": [1, 2.5]}}}})
err("float-exponent", "`1e3` is a float in JSON", json_text='{"context": {"x": 1e3}}')
err("float-integral", "`1.0` is a float in JSON", json_text='{"context": {"x": 1.0}}')
err("int-too-large", "beyond 64 bits, signed", json_text='{"context": {"x": 9223372036854775808}}')
err("int-beyond-u64", "beyond 64 bits, unsigned", json_text='{"context": {"x": 18446744073709551616}}')
err("int-too-small", "below -2^63", json_text='{"context": {"x": -9223372036854775809}}')
err("depth-17", "lists nested 17 levels deep", {"context": {"deep": nest(17)}})
err("depth-17-object", "objects count as levels too", {"request": {"auth": {"claims": {"o": nest(15, {"k": {}})}}}})
# Limits
err("list-1025", "a list of 1,025 items (beyond the ceiling)", {"context": {"l": list(range(1025))}})
err("headers-257", "257 headers (beyond the default limit)", {"request": {"headers": {f"x-{i}": "v" for i in range(257)}}})
err("labels-1025", "1,025 labels (beyond the ceiling on one map)", {"source": {"labels": {f"l{i}": "v" for i in range(1025)}}})
err("audiences-1025", "1,025 audiences (beyond the default limit)", {"request": {"auth": {"audiences": [f"a{i}" for i in range(1025)]}}})
err("type-error-before-limit", "an error of type is reported before one of limits", {"request": {"headers": {f"x-{i}": "v" for i in range(257)}}, "destination": {"port": "x"}})

out = []
for c in cases:
    text = c["json"] if "json" in c else json.dumps(c["request"])
    try:
        r = meshgate.Request.from_json(text)
        expect = {"request": json.loads(r.to_json())}
    except meshgate.RequestError as e:
        msg = str(e)
        assert msg.startswith("invalid request: "), msg
        expect = {"error": {"field": e.field, "message": msg[len("invalid request: "):]}}
    c["expect"] = expect
    out.append(c)

names = [c["name"] for c in out]
assert len(names) == len(set(names))
with open(sys.argv[1], "w") as f:
    f.write("[\n")
    f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in out))
    f.write("\n]\n")
print(len(out), "cases;", sum("error" in c["expect"] for c in out), "errors")
