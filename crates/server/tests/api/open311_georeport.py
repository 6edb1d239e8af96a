"""Reads a safegrid Open311 server with the PyPI client `georeport`, in JSON and in XML, and
prints what it read as one JSON document (the Rust test compares it with the JSON API).
Also parses the raw XML of every endpoint with xml.etree, so malformed XML fails here.

usage: open311_georeport.py BASE JURISDICTION REQUEST_ID START END SERVICE_CODES
"""
import json
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from georeport import GeoReport

base, jurisdiction, request_id, start, end, codes = sys.argv[1:7]


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def text(v):
    """XML gives strings; JSON numbers and booleans are written the same way here."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def ids(requests):
    return sorted(r["service_request_id"] for r in as_list(requests))


out = {}
for fmt in ("json", "xml"):
    g = GeoReport(base, jurisdiction=jurisdiction, output_format=fmt)
    r = {}
    r["services"] = [
        {k: text(s.get(k)) for k in ("service_code", "service_name", "metadata", "type", "keywords", "group")}
        for s in as_list(g.get_service_list())
    ]
    d = g.get_service_definition("C0102")
    attrs = d["attributes"]
    if fmt == "xml":
        attrs = as_list(attrs["attribute"])
    r["definition"] = {
        "service_code": d["service_code"],
        "attributes": [
            {
                "code": a["code"],
                "datatype": a["datatype"],
                "required": text(a["required"]),
                "order": text(a["order"]),
                "values": [
                    v["key"]
                    for v in as_list(a["values"]["value"] if fmt == "xml" and a["values"] else a["values"])
                ],
            }
            for a in attrs
        ],
    }
    r["all"] = ids(g.get_service_requests())
    r["by_code"] = ids(g.get_service_requests(service_code=codes))
    r["open"] = ids(g.get_service_requests(status="open"))
    r["closed"] = ids(g.get_service_requests(status="closed"))
    r["open_closed"] = ids(g.get_service_requests(status="open,closed"))
    r["dates"] = ids(g.get_service_requests(start_date=start, end_date=end))
    r["by_id"] = ids(g.get_service_requests(service_request_id=request_id, status="closed"))
    one = g.get_service_request(request_id)
    r["one"] = {k: text(v) for k, v in one.items()}
    out[fmt] = r

checked = []
for path in (
    "discovery.xml",
    "services.xml",
    "services/C0102.xml",
    "requests.xml",
    "requests/%s.xml" % request_id,
    "tokens/NOSUCHTOKEN.xml",
    "servicerequestupdates.xml",
    "requests/nonexistent.xml",
):
    try:
        with urllib.request.urlopen("%s/%s?jurisdiction_id=%s" % (base, path, jurisdiction)) as resp:
            body, ctype = resp.read(), resp.headers["Content-Type"]
    except urllib.error.HTTPError as e:
        body, ctype = e.read(), e.headers["Content-Type"]
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), path
    assert ctype == "text/xml; charset=utf-8", (path, ctype)
    root = ET.fromstring(body)
    checked.append([path, root.tag])
out["xml_checked"] = checked
print(json.dumps(out, ensure_ascii=False))
