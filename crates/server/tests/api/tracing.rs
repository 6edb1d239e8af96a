//! Request ids and the protocol details a schema fuzzer checks (issue 27): every answer carries
//! `X-Request-Id` and every error quotes it (API envelope, Open311 errors, the web's error page);
//! a client's own id is kept only when it is a short plain token; a 405 says which methods the
//! resource has (`Allow`); an empty optional query parameter (`open=`) means absent.

use crate::helpers::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

story!(every_answer_has_a_request_id);
story!(errors_quote_the_request_id);
story!(a_clients_id_is_kept_only_when_safe);
story!(method_not_allowed_says_what_is);
story!(empty_optional_query_parameters_are_absent);

/// The `X-Request-Id` of an answer; panics without one.
fn id_of(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{} {} has no X-Request-Id", r.status(), r.url()))
        .to_str()
        .unwrap()
        .to_string()
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

async fn every_answer_has_a_request_id(app: &TestApp) {
    let b = &app.base;
    let c = Client::new();
    let mut seen = Vec::new();
    for (url, status) in [
        (format!("{b}/healthz"), StatusCode::OK),
        (format!("{b}/api/v1/categories"), StatusCode::OK),
        (format!("{b}/"), StatusCode::OK),
        (format!("{b}/api/v1/no-such-thing"), StatusCode::NOT_FOUND),
        (format!("{b}/api/v1/cases"), StatusCode::UNAUTHORIZED),
        (format!("{b}/open311/v2/services.json"), StatusCode::OK),
    ] {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), status, "{url}");
        let id = id_of(&r);
        assert!(is_uuid(&id), "{url}: a new id is a UUID, got {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6, "each request has its own id");
}

async fn errors_quote_the_request_id(app: &TestApp) {
    let b = &app.base;
    let c = Client::new();

    // The API's JSON envelope, for a 404 of the router, a 401 and a 422 of a handler.
    let staff = login(app, "demo-dispatcher").await;
    for req in [
        c.get(format!("{b}/api/v1/no-such-thing")),
        c.get(format!("{b}/api/v1/cases")),
        staff.get(format!("{b}/api/v1/cases?page=0")),
    ] {
        let r = req.send().await.unwrap();
        let status = r.status();
        assert!(status.is_client_error(), "{status}");
        let id = id_of(&r);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["request_id"], id.as_str(), "{status}: {v}");
    }

    // Open311's errors array, in JSON and in XML.
    let r = c
        .get(format!("{b}/open311/v2/requests/no-such-request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let id = id_of(&r);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v[0]["request_id"], id.as_str(), "{v}");
    assert!(v[0]["description"].is_string(), "{v}");
    let r = c
        .get(format!("{b}/open311/v2/requests/no-such-request.xml"))
        .send()
        .await
        .unwrap();
    let id = id_of(&r);
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains(&format!("<request_id>{id}</request_id>")),
        "{xml}"
    );

    // The web's error page, in small print.
    for lang in ["zh", "en"] {
        let r = c
            .get(format!("{b}/no-such-page?lang={lang}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let id = id_of(&r);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("<code id=\"request-id\">{id}</code>")),
            "{html}"
        );
        let label = if lang == "en" {
            "Request id"
        } else {
            "请求编号"
        };
        assert!(html.contains(label), "{lang}: {html}");
    }
}

async fn a_clients_id_is_kept_only_when_safe(app: &TestApp) {
    let b = &app.base;
    let c = Client::new();
    let url = format!("{b}/api/v1/no-such-thing");
    let safe = format!("complaint-42.{}_{}", app.backend, "x".repeat(30));
    let r = c
        .get(&url)
        .header("x-request-id", &safe)
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r), safe);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["request_id"], safe.as_str());
    // A success echoes it too.
    let r = c
        .get(format!("{b}/healthz"))
        .header("x-request-id", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(id_of(&r), "abc");

    // Too long, markup, spaces, line-forging characters, non-ASCII: a new id instead.
    let long = "a".repeat(65);
    for unsafe_id in [
        long.as_str(),
        "<script>alert(1)</script>",
        "a b",
        "id\"x",
        "x%0Aforged",
        "编号",
    ] {
        let r = c
            .get(&url)
            .header(
                "x-request-id",
                reqwest::header::HeaderValue::from_bytes(unsafe_id.as_bytes()).unwrap(),
            )
            .send()
            .await
            .unwrap();
        let id = id_of(&r);
        assert!(
            is_uuid(&id),
            "{unsafe_id:?} was replaced by a new id, got {id}"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["request_id"], id.as_str());
    }
    // Two ids: which one would the log carry? Neither.
    let r = c
        .get(&url)
        .header("x-request-id", "first")
        .header("x-request-id", "second")
        .send()
        .await
        .unwrap();
    assert!(is_uuid(&id_of(&r)));
}

async fn method_not_allowed_says_what_is(app: &TestApp) {
    let b = &app.base;
    let c = Client::new();
    for (method, path, allowed) in [
        (Method::DELETE, "/api/v1/cases", &["GET", "POST"][..]),
        (Method::PUT, "/api/v1/categories", &["GET"][..]),
        (Method::POST, "/healthz", &["GET"][..]),
        (Method::POST, "/open311/v2/services.json", &["GET"][..]),
        (
            Method::DELETE,
            "/open311/v2/requests.json",
            &["GET", "POST"][..],
        ),
    ] {
        let r = c
            .request(method.clone(), format!("{b}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let allow = r
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{method} {path}: a 405 without Allow"))
            .to_str()
            .unwrap()
            .to_string();
        let listed: Vec<&str> = allow.split(',').map(str::trim).collect();
        for m in allowed {
            assert!(listed.contains(m), "{method} {path}: Allow: {allow}");
        }
        assert!(
            !listed.contains(&method.as_str()),
            "{method} {path}: Allow: {allow}"
        );
        id_of(&r);
    }
}

async fn empty_optional_query_parameters_are_absent(app: &TestApp) {
    let b = &app.base;
    let staff = login(app, "demo-admin").await;
    for query in [
        "/api/v1/cases?open=&page=&page_size=&status=&q=",
        "/api/v1/cases?open=",
        "/api/v1/cases/export.csv?open=&page=",
        "/api/v1/stats/kpi?children=",
        "/api/v1/regions?geometry=",
        "/api/v1/grids?page=&page_size=",
        "/api/v1/admin/audit?page=&page_size=",
        "/api/v1/petitions/backlog?mine=",
        "/api/v1/mediators?committee=",
    ] {
        let r = staff.get(format!("{b}{query}")).send().await.unwrap();
        let s = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(s, StatusCode::OK, "{query}: {body}");
    }
    // Empty is absent: the same answer as without the parameters.
    let with_empty: Value = staff
        .get(format!("{b}/api/v1/cases?open=&page=&page_size="))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let without: Value = staff
        .get(format!("{b}/api/v1/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(with_empty["total"], without["total"], "{with_empty}");
    // A value that is there must still be right: a 400 naming the query.
    for query in [
        "/api/v1/cases?open=maybe",
        "/api/v1/cases?page=x",
        "/api/v1/stats/kpi?children=2",
    ] {
        let r = staff.get(format!("{b}{query}")).send().await.unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(query.split('?').nth(1).unwrap().split('=').next().unwrap()),
            "{query}: {v}"
        );
    }
}
