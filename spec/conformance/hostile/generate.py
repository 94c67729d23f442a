#!/usr/bin/env python3
"""Writes policies.json and requests.json: the hostile and malformed inputs of the corpus.

Inputs are written here as Python (several are generated: deep nesting, huge literals); the
expected outcomes are recorded by `MESHGATE_BLESS=1 cargo test -p meshgate --test hostile`
and reviewed by hand. Run this script, then the blessing, after changing an input.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

def rep(s, n):
    return {"repeat": s, "times": n}

P = []  # policies

def pol(name, why, text=None, parts=None, hex_bytes=None):
    e = {"name": name, "why": why}
    if text is not None:
        e["text"] = text
    if parts is not None:
        e["parts"] = parts
    if hex_bytes is not None:
        e["bytes_hex"] = hex_bytes
    P.append(e)

# Nesting and size.
pol("deep-parentheses", "10,000 nested parentheses: refused, no stack overflow",
    parts=['allow "a" { when ', rep("(", 10000), "true", rep(")", 10000), " }\n"])
pol("deep-not", "10,000 nested `not`: refused, no stack overflow",
    parts=['allow "a" { when ', rep("not ", 10000), "true }\n"])
pol("deep-mixed", "alternating `not (` 5,000 deep",
    parts=['allow "a" { when ', rep("not (", 5000), "true", rep(")", 5000), " }\n"])
pol("unclosed-parentheses", "100,000 `(` never closed",
    parts=['allow "a" { when ', rep("(", 100000), "\n"])
pol("long-and-chain", "100,000 operands in one `and` chain load (balanced tree)",
    parts=['allow "a" { when true', rep(" and true", 100000), " }\n"])
pol("long-or-chain", "100,000 operands in one `or` chain load",
    parts=['allow "a" { when false', rep(" or destination.port == 1", 100000), " }\n"])
pol("list-over-limit", "10,001 items: over the default `max_list_len`",
    parts=['allow "a" { to port [1', rep(", 1", 10000), "] }\n"])
pol("list-at-limit", "10,000 items load",
    parts=['allow "a" { to port [1', rep(", 1", 9999), "] }\n"])
pol("list-over-parser-ceiling", "1,000,001 items: the parser's ceiling",
    parts=['allow "a" { to port [1', rep(",1", 1000000), "] }\n"])
pol("nested-list", "lists do not nest", text='allow "a" { to path [["/a"]] }\n')
pol("huge-string", "a 1 MiB exact path loads (exact strings are bounded by the source size)",
    parts=['allow "a" { to path "/', rep("a", 1 << 20), '" }\n'])
pol("huge-glob", "a 2,000-byte glob: over `max_pattern_bytes`",
    parts=['allow "a" { to path "/', rep("a", 2000), '/*" }\n'])
pol("many-wildcards", "17 wildcards in one segment: over `max_pattern_wildcards`",
    parts=['allow "a" { to path "/', rep("*a", 17), '" }\n'])
pol("huge-integer", "an integer beyond 64 bits", text='allow "a" { to port 99999999999999999999999 }\n')
pol("huge-identifier", "a 100,000-character role name loads",
    parts=["role ", rep("r", 100000), ' { permit GET on "/a" }\n'])
pol("long-line-of-spaces", "1 MiB of spaces and nothing else: an empty set",
    parts=[rep(" ", 1 << 20), "\n"])
pol("many-broken-rules", "1,000 broken rules: every one reported, no blow-up",
    parts=[rep('allow "x" { from namespce "a" }\n', 1000)])
pol("long-include-chain", "a chain of 2,000 includes loads",
    parts=['role r0 { permit GET on "/a" }\n'] + [f"role r{i} {{ include r{i-1} }}\n" for i in range(1, 2000)])
pol("many-rules", "20,000 rules load", parts=[f'allow "r{i}" {{ to path "/p{i}/**" }}\n' for i in range(20000)])

# Encoding and confusable text.
pol("nul-byte-in-text", "a NUL byte between items", text='allow "a" { to path "/a" }\n\u0000\n')
pol("nul-byte-in-string", "a NUL byte inside a string literal", text='allow "a" { to path "/a\u0000b" }\n')
pol("bidi-override-in-string", "Trojan Source: a right-to-left override inside a string",
    text='allow "a" { from namespace "prod\u202e\u2066// admin\u2069\u2066" }\n')
pol("bidi-override-in-comment", "Trojan Source: an override in a comment that hides code",
    text='# check \u202e } deny "x" { \u202c\nallow "a" { to path "/a" }\n')
pol("zero-width-space-in-id", "a zero-width space inside a rule id", text='allow "ad\u200bmin" { to path "/a" }\n')
pol("bom-at-start", "a byte-order mark at the start", text='\ufeffallow "a" { to path "/a" }\n')
pol("cyrillic-keyword", "`аllow` with a Cyrillic а is not a keyword", text='\u0430llow "a" { to path "/a" }\n')
pol("cyrillic-in-namespace", "a homoglyph namespace loads and matches only itself",
    text='allow "a" { from namespace "sh\u043ep" }\n')
pol("soft-hyphen-in-path", "an invisible soft hyphen in a path", text='allow "a" { to path "/ad\u00admin" }\n')
pol("invalid-utf8", "bytes that are not UTF-8, read from a file", hex_bytes=b'allow "a" { to path "/\xff\xfe" }\n'.hex())
pol("invalid-utf8-late", "invalid UTF-8 on line 3", hex_bytes=b'# one\n# two\nallow "\xc3\x28" {}\n'.hex())
pol("lone-surrogate-escape", "a `\\u{d800}` escape", text='allow "a" { to path "/\\u{d800}" }\n')
pol("escape-beyond-unicode", "a `\\u{110000}` escape", text='allow "a" { to path "/\\u{110000}" }\n')
pol("unknown-escape", "a `\\q` escape", text='allow "a" { to path "/\\q" }\n')
pol("crlf-line-endings", "CRLF line endings load", text='allow "a" {\r\n  to path "/a"\r\n}\r\n')
pol("cr-only-line-endings", "old Mac line endings", text='allow "a" {\r  to path "/a"\r}\r')
pol("tabs", "tabs load", text='allow\t"a"\t{\tto\tpath\t"/a"\t}\n')
pol("raw-newline-in-string", "a string broken over two lines", text='allow "a" { to path "/a\nb" }\n')
pol("control-char-in-id", "a bell character in a rule id", text='allow "a\u0007" { to path "/a" }\n')
pol("empty-id", "an empty rule id", text='allow "" { to path "/a" }\n')

# Syntax.
pol("empty-file", "an empty file is an empty set (everything denied)", text="")
pol("only-comments", "comments only", text="# nothing\n# at all\n")
pol("garbage", "punctuation soup", text="@@@ {{{ ]]] ;;;\n")
pol("binary-noise", "control characters", text="\u0001\u0002\u0003\u0004\u0005\n")
pol("keyword-alone", "`allow` and nothing else", text="allow\n")
pol("unterminated-string", "a string with no closing quote", text='allow "a { to path "/a" }\n')
pol("unterminated-block", "a rule with no closing brace", text='allow "a" { to path "/a"\n')
pol("extra-closing-brace", "a stray `}`", text='allow "a" { to path "/a" } }\n')
pol("unbracketed-list", "`to method GET, POST`", text='allow "a" { to method GET, POST }\n')
pol("empty-when", "`when` with no condition", text='allow "a" { when }\n')
pol("empty-from", "`from` with no matcher", text='allow "a" { from }\n')
pol("label-without-value", "`label app` without `=`", text='allow "a" { from label app }\n')
pol("double-not-matcher", "`not not namespace`", text='allow "a" { from not not namespace "a" }\n')
pol("semicolons", "statements separated by semicolons", text='allow "a" { to path "/a"; to port 80 }\n')
pol("json-instead-of-policy", "a JSON document given as a policy", text='{"allow": ["a"]}\n')
pol("yaml-instead-of-policy", "an Istio YAML given as a policy", text="apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n")

# Values.
pol("cidr-prefix-too-long", "`10.0.0.0/33`", text='allow "a" { from ip 10.0.0.0/33 }\n')
pol("cidr-host-bits", "`10.0.0.1/8` (host bits set)", text='allow "a" { from ip 10.0.0.1/8 }\n')
pol("ipv4-octet-overflow", "`10.0.0.256`", text='allow "a" { from ip 10.0.0.256 }\n')
pol("ipv6-malformed", "`:::1`", text='allow "a" { from ip :::1 }\n')
pol("ipv6-cidr-too-long", "`::/129`", text='allow "a" { from ip ::/129 }\n')
pol("port-too-large", "port 70000", text='allow "a" { to port 70000 }\n')
pol("port-zero", "port 0", text='allow "a" { to port 0 }\n')
pol("port-range-reversed", "`9000..80`", text='allow "a" { to port 9000..80 }\n')
pol("negative-port", "port -1", text='allow "a" { to port -1 }\n')
pol("hour-out-of-range", "`time.hour == 25`", text='allow "a" { when time.hour == 25 }\n')
pol("impossible-date", "`2026-02-30`", text='allow "a" { when time.date == 2026-02-30 }\n')
pol("unknown-time-zone", "`Mars/Olympus`", text='allow "a" { timezone "Mars/Olympus" }\n')
pol("weekday-typo", "`thursdy`", text='allow "a" { when time.weekday == thursdy }\n')
pol("type-mismatch", "a string compared with an hour", text='allow "a" { when time.hour == "x" }\n')
pol("unknown-attribute", "`source.namspace`", text='allow "a" { when source.namspace == "x" }\n')
pol("unknown-matcher", "`from namespce`", text='allow "a" { from namespce "x" }\n')
pol("glob-double-star-in-segment", "`/a**b`", text='allow "a" { to path "/a**b" }\n')
pol("glob-double-double-star", "`/**/**`", text='allow "a" { to path "/**/**" }\n')
pol("path-without-slash", "`api/x` can never match", text='allow "a" { to path "api/x" }\n')
pol("empty-list", "`[]` matches nothing", text='allow "a" { to path [] }\n')
pol("claims-path-deep", "a claim path 100 keys deep loads",
    parts=['allow "a" { when request.auth.claims', rep('["k"]', 100), ' == "v" }\n'])

# Rules and roles.
pol("duplicate-id", "two rules with one id", text='allow "a" { to path "/a" }\ndeny "a" { to path "/b" }\n')
pol("grant-in-deny", "`grant` in a deny rule", text='role r { permit GET on "/a" }\ndeny "a" { grant r }\n')
pol("grant-in-audit", "`grant` in an audit rule", text='role r { permit GET on "/a" }\naudit "a" { grant r }\n')
pol("role-self-include", "a role that includes itself", text='role r { include r }\n')
pol("role-cycle", "a two-role cycle", text='role a { include b }\nrole b { include a }\n')
pol("unknown-role", "granting an undeclared role", text='allow "a" { grant readr }\n')
pol("empty-role", "a role with no permission", text='role r { }\n')
pol("duplicate-role", "a role declared twice", text='role r { permit GET on "/a" }\nrole r { permit GET on "/b" }\n')
pol("duplicate-timezone", "`timezone` twice", text='allow "a" { timezone "UTC" timezone "UTC" }\n')
pol("allow-everything", "an allow with no condition loads (lint warns; it is what it says)", text='allow "all" {}\n')

R = []  # requests

def req(name, why, json_text=None, parts=None):
    e = {"name": name, "why": why}
    if json_text is not None:
        e["json"] = json_text
    if parts is not None:
        e["parts"] = parts
    R.append(e)

req("array", "a JSON array", "[]")
req("array-of-object", "an array holding a request", '[{"source": {}}]')
req("string", "a JSON string", '"GET /"')
req("null", "null", "null")
req("number", "a number", "42")
req("empty-text", "no text at all", "")
req("truncated", "cut in the middle", '{"source": {"principal": "spiffe://')
req("trailing-garbage", "a valid object followed by more", '{} {}')
req("duplicate-top-level-key", "`source` twice", '{"source": {"namespace": "a"}, "source": {"namespace": "b"}}')
req("duplicate-nested-key", "`namespace` twice", '{"source": {"namespace": "a", "namespace": "b"}}')
req("duplicate-header", "a header twice", '{"request": {"headers": {"x-a": "1", "x-a": "2"}}}')
req("duplicate-claim", "a claim twice", '{"request": {"auth": {"claims": {"sub": "a", "sub": "b"}}}}')
req("unknown-field", "a misspelt section", '{"sourc": {}}')
req("unknown-nested-field", "a misspelt attribute", '{"source": {"principle": "x"}}')
req("port-as-string", "`\"80\"`", '{"destination": {"port": "80"}}')
req("port-too-large", "65536", '{"destination": {"port": 65536}}')
req("port-negative", "-1", '{"destination": {"port": -1}}')
req("port-float", "80.5", '{"destination": {"port": 80.5}}')
req("null-field", "an explicit null", '{"source": {"principal": null}}')
req("null-section", "a null section", '{"source": null}')
req("ip-octet-overflow", "10.0.0.256", '{"source": {"ip": "10.0.0.256"}}')
req("ip-with-prefix", "a CIDR where an address goes", '{"source": {"ip": "10.0.0.0/8"}}')
req("ip-with-port", "an address with a port", '{"source": {"ip": "10.0.0.1:8080"}}')
req("time-bad-month", "month 13", '{"time": "2026-13-01T00:00:00Z"}')
req("time-no-offset", "a civil time without offset", '{"time": "2026-01-01T00:00:00"}')
req("time-as-number", "a Unix time number", '{"time": 1767225600}')
req("claim-float", "a float claim", '{"request": {"auth": {"claims": {"score": 1.5}}}}')
req("claim-null", "a null claim", '{"request": {"auth": {"claims": {"x": null}}}}')
req("claims-too-deep", "claims nested 20 levels",
    parts=['{"request": {"auth": {"claims": {"a": ', rep("[", 20), rep("]", 20), "}}}}"])
req("context-too-deep", "context nested 200 levels",
    parts=['{"context": {"a": ', rep('{"b": ', 200), "1", rep("}", 200), "}}"])
req("headers-over-limit", "257 headers: over `max_headers`",
    parts=['{"request": {"headers": {"h0": "v"'] + [f', "h{i}": "v"' for i in range(1, 257)] + ["}}}"])
req("headers-over-ceiling", "1,025 headers: over the map ceiling",
    parts=['{"request": {"headers": {"h0": "v"'] + [f', "h{i}": "v"' for i in range(1, 1025)] + ["}}}"])
req("labels-over-limit", "257 labels", parts=['{"source": {"labels": {"l0": "v"'] + [f', "l{i}": "v"' for i in range(1, 257)] + ["}}}"])
req("claim-list-over-ceiling", "1,025 items in one claim list",
    parts=['{"request": {"auth": {"claims": {"groups": ["g"', rep(', "g"', 1024), "]}}}}"])
req("audiences-over-limit", "1,025 audiences",
    parts=['{"request": {"auth": {"audiences": ["a"', rep(', "a"', 1024), "]}}}"])
req("huge-request", "a 2 MiB request: over `max_bytes`",
    parts=['{"context": {"pad": "', rep("x", 2 << 20), '"}}'])
req("huge-string", "a 70 KiB path: over `max_string_bytes`",
    parts=['{"request": {"path": "/', rep("a", 70 << 10), '"}}'])
req("nul-in-principal", "a NUL inside the principal: read as given, matches nothing",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend\\u0000"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/balance"}}')
req("lone-surrogate", "an unpaired UTF-16 surrogate escape", '{"source": {"principal": "\\ud800"}}')
req("bidi-in-path", "a right-to-left override in the path: matches nothing",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/\\u202ebalance"}}')
req("path-traversal", "`/api/../admin`: denied unevaluated",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/../admin"}}')
req("encoded-traversal", "`/api/%2e%2e/admin`: denied unevaluated",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/%2e%2e/admin"}}')
req("method-lowercase", "`get` is not `GET`: no widening by case",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "get", "path": "/api/balance"}}')
req("principal-case", "principals are case-sensitive",
    '{"source": {"principal": "SPIFFE://cluster.local/ns/shop/sa/frontend"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/balance"}}')
req("spiffe-lookalike", "a principal that only starts like a SPIFFE id",
    '{"source": {"principal": "spiffe://cluster.local/ns/shop/sa/frontend/../../ns/ops/sa/admin"}, "destination": {"service": "payments.prod.svc.cluster.local"}, "request": {"method": "GET", "path": "/api/balance"}}')
req("empty-object", "`{}`: every attribute absent, default deny", "{}")
req("deeply-nested-garbage", "100,000 `[`",
    parts=[rep("[", 100000)])

for name, entries in (("policies.json", P), ("requests.json", R)):
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), name
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps(e, ensure_ascii=True) for e in entries) + "\n]\n")
print(len(P), "policies,", len(R), "requests")
