//! Open311 GeoReport v2 and the mySociety updates extension, black-box, in both formats and on
//! both databases: a FixMyStreet-style client files a broken manhole cover, follows it while the
//! command center works on it, pushes a resident's update, and reads the lists with every filter.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use safegrid::ratelimit::Rate;
use serde_json::{Value, json};

const XML: &str = "text/xml; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";
const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// Checks an Open311 error body in either format; returns the descriptions.
    pub fn errors(&self, status: StatusCode) -> Vec<String> {
        assert_eq!(self.status, status, "{}", self.text);
        if self.content_type == JSON {
            let v = self.json();
            let items = v.as_array().expect("errors are a bare array");
            assert!(!items.is_empty());
            items
                .iter()
                .map(|e| {
                    assert_eq!(e["code"], json!(status.as_u16()));
                    e["description"].as_str().unwrap().to_string()
                })
                .collect()
        } else {
            assert_eq!(self.content_type, XML);
            assert!(self.text.starts_with(DECL), "{}", self.text);
            assert!(self.text.contains("<errors><error><code>"), "{}", self.text);
            assert!(
                self.text
                    .contains(&format!("<code>{}</code>", status.as_u16()))
            );
            self.text
                .split("<description>")
                .skip(1)
                .map(|s| s.split("</description>").next().unwrap().to_string())
                .collect()
        }
    }
}

async fn reply(r: reqwest::Response) -> Reply {
    Reply {
        status: r.status(),
        content_type: r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        retry_after: r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        text: r.text().await.unwrap(),
    }
}

pub fn base(app: &TestApp) -> String {
    format!("{}/open311/v2", app.base)
}

pub async fn o_get(app: &TestApp, path_and_query: &str) -> Reply {
    let r = Client::new()
        .get(format!("{}{path_and_query}", base(app)))
        .send()
        .await
        .expect("GET");
    reply(r).await
}

pub async fn o_post(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    bearer: Option<&str>,
) -> Reply {
    let mut rq = Client::new()
        .post(format!("{}{path}", base(app)))
        .form(form);
    if let Some(b) = bearer {
        rq = rq.bearer_auth(b);
    }
    reply(rq.send().await.expect("POST")).await
}

fn ok_json(r: &Reply) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type, JSON);
    r.json()
}

fn ok_xml(r: &Reply) -> &str {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type, XML);
    assert!(r.text.starts_with(DECL), "{}", r.text);
    &r.text
}

/// The main suite runs with the address limits off (it makes hundreds of calls from one address).
pub fn no_address_limit(s: &mut safegrid::config::Settings) {
    s.rate_limits.open311_address = Rate::new(0, 0);
    s.open311.read_limit = Rate::new(0, 0);
}

story!(discovery_in_both_formats, no_address_limit);
story!(services_and_definitions, no_address_limit);
story!(filing_a_request, no_address_limit);
story!(refused_requests, no_address_limit);
story!(reading_requests, no_address_limit);
story!(list_filters_dates_and_paging, no_address_limit);
story!(updates_both_ways, no_address_limit);
story!(revoked_keys_are_refused, no_address_limit);
story!(abuse_limits, tight_limits);
story!(several_jurisdictions, two_counties);

/// The FixMyStreet-style client's key.
async fn client_key(app: &TestApp) -> String {
    safegrid::app::tokens::issue_open311_key(&app.state, "fixmystreet-test")
        .await
        .unwrap()
}

/// The client's key and the requests it filed (the filing story's own checks included).
async fn filed(app: &TestApp) -> (String, Filed) {
    let key = client_key(app).await;
    let filed = file_requests(app, &key).await;
    (key, filed)
}

async fn discovery_in_both_formats(app: &TestApp) {
    let x = o_get(app, "/discovery.xml").await;
    let t = ok_xml(&x);
    assert!(t.contains("<discovery><changeset>"), "{t}");
    for part in [
        "<contact>",
        "<key_service>",
        "<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>",
        &format!("<url>{}</url>", base(app)),
        "<type>production</type>",
        "<formats><format>text/xml</format><format>application/json</format></formats>",
    ] {
        assert!(t.contains(part), "discovery.xml lacks {part}: {t}");
    }
    let j = ok_json(&o_get(app, "/discovery.json").await);
    assert!(j["changeset"].is_string() && j["contact"].is_string());
    let ep = &j["endpoints"][0];
    assert_eq!(ep["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(ep["url"], base(app));
    assert_eq!(ep["formats"], json!(["text/xml", "application/json"]));
    // No format, an unknown format, an unknown resource: 404 in Open311's shape.
    o_get(app, "/discovery").await.errors(StatusCode::NOT_FOUND);
    o_get(app, "/discovery.html")
        .await
        .errors(StatusCode::NOT_FOUND);
    o_get(app, "/nothing.json")
        .await
        .errors(StatusCode::NOT_FOUND);
    o_get(app, "/a/b/c.xml").await.errors(StatusCode::NOT_FOUND);
}

async fn services_and_definitions(app: &TestApp) {
    let list = ok_json(&o_get(app, "/services.json").await);
    let items = list.as_array().expect("a bare array");
    assert!(items.len() >= 80);
    for s in items {
        for k in [
            "service_code",
            "service_name",
            "description",
            "keywords",
            "group",
            "type",
        ] {
            assert!(s[k].is_string(), "{k} in {s}");
        }
        assert!(s["metadata"].is_boolean());
        assert_eq!(s["type"], "realtime");
    }
    let cover = items.iter().find(|s| s["service_code"] == "C0102").unwrap();
    assert_eq!(cover["metadata"], true);
    assert_eq!(cover["group"], "公用设施");
    assert!(cover["keywords"].as_str().unwrap().contains("井盖"));
    let plain = items.iter().find(|s| s["service_code"] == "E0101").unwrap();
    assert_eq!(plain["metadata"], false);
    let x = o_get(app, "/services.xml").await;
    let t = ok_xml(&x);
    assert!(t.contains("<services><service><service_code>"));
    assert_eq!(t.matches("<service>").count(), items.len());
    assert!(t.contains("<group>公用设施</group>"));

    let d = ok_json(&o_get(app, "/services/C0102.json").await);
    assert!(d.is_object());
    assert_eq!(d["service_code"], "C0102");
    let a = &d["attributes"][0];
    assert_eq!(a["code"], "cover_state");
    assert_eq!(a["variable"], true);
    assert_eq!(a["datatype"], "singlevaluelist");
    assert_eq!(a["required"], true);
    assert_eq!(a["order"], 1);
    assert!(a["datatype_description"].is_string() && a["description"].is_string());
    assert!(
        a["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "missing" && v["name"] == "缺失")
    );
    let x = o_get(app, "/services/E0601.xml").await;
    let t = ok_xml(&x);
    assert!(
        t.contains("<service_definition><service_code>E0601</service_code><attributes><attribute>")
    );
    assert!(t.contains("<datatype>multivaluelist</datatype>"));
    assert!(t.contains("<values><value><key>"));
    o_get(app, "/services/X9999.json")
        .await
        .errors(StatusCode::NOT_FOUND);
    o_get(app, "/services/X9999.xml")
        .await
        .errors(StatusCode::NOT_FOUND);
    // The jurisdiction: the deployment's root region, in its 6- or 12-digit form; others 404.
    ok_json(&o_get(app, "/services.json?jurisdiction_id=330500").await);
    ok_json(&o_get(app, "/services.json?jurisdiction_id=330500000000").await);
    ok_json(&o_get(app, "/services.json?jurisdiction_id=").await);
    let e = o_get(app, "/services.json?jurisdiction_id=110000")
        .await
        .errors(StatusCode::NOT_FOUND);
    assert!(e[0].contains("jurisdiction_id"), "{e:?}");
    o_get(app, "/requests.xml?jurisdiction_id=nowhere")
        .await
        .errors(StatusCode::NOT_FOUND);
}

pub struct Filed {
    pub id: String,
    pub token: String,
    pub address_only_id: String,
    pub dispute_id: String,
}

const PHONE: &str = "13800138000";

async fn filing_a_request(app: &TestApp) {
    filed(app).await;
}

async fn file_requests(app: &TestApp, key: &str) -> Filed {
    let desc = "红旗路 <人行道> 上的污水井盖丢了 & 没人管";
    let r = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key),
            ("service_code", "C0102"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("description", desc),
            ("attribute[cover_state]", "missing"),
            ("attribute[on_carriageway]", "yes"),
            ("first_name", "小明"),
            ("last_name", "王"),
            ("phone", PHONE),
            ("email", "wang@example.com"),
            ("account_id", "fms-user-7"),
            ("media_url", "https://photos.example.org/cover.jpg"),
        ],
        None,
    )
    .await;
    let v = ok_json(&r);
    let arr = v.as_array().expect("one-element array");
    assert_eq!(arr.len(), 1);
    let id = arr[0]["service_request_id"]
        .as_str()
        .expect("id is a string")
        .to_string();
    let token = arr[0]["token"].as_str().unwrap().to_string();
    assert_eq!(arr[0]["account_id"], "fms-user-7");
    assert!(
        arr[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("330502")
    );

    // The same case the command center sees: channel open311, grid assigned from the point.
    let disp = login(app, "demo-dispatcher").await;
    let (s, case) = get(&disp, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{case}");
    assert_eq!(case["channel"], "open311");
    assert_eq!(case["category"], "C0102");
    assert!(case["grid_code"].as_str().unwrap().starts_with("330502"));
    assert_eq!(case["description"], desc);
    // Masked until the command center reveals it for a call-back (audited).
    assert_eq!(case["reporter"]["name"], "王**");
    let (s, full) = post(
        &disp,
        format!("{}/api/v1/cases/{id}/reveal", app.base),
        json!({"reason": "回访反映人核实情况"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{full}");
    assert_eq!(full["name"], "王小明");
    assert_eq!(full["phone"], PHONE);

    // XML, key as a bearer token, location by address only: flagged for manual location.
    let r = o_post(
        app,
        "/requests.xml",
        &[
            ("service_code", "E0101"),
            ("address_string", "吴兴区红旗路 88 号门口"),
        ],
        Some(key),
    )
    .await;
    let t = ok_xml(&r);
    assert!(
        t.contains("<service_requests><request><service_request_id>"),
        "{t}"
    );
    let address_only_id = between(t, "<service_request_id>", "</service_request_id>");
    let (_, c2) = get(
        &disp,
        format!("{}/api/v1/cases/{address_only_id}", app.base),
    )
    .await;
    assert_eq!(c2["needs_location"], true);
    assert_eq!(c2["channel"], "open311");
    // Open311 makes the description optional; the case gets the service's name.
    assert!(!c2["description"].as_str().unwrap().is_empty());

    // Disputes and petitions are not Open311 services (their records carry parties' personal data):
    // refused like an unknown service. One filed through the API stays off the public lists' text.
    let r = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key),
            ("service_code", "D0201"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("description", "邻居李四家装修噪音，与张三发生争执"),
        ],
        None,
    )
    .await;
    r.errors(StatusCode::NOT_FOUND);
    let gw = login(app, "demo-gridworker").await;
    let (s, d) = post(&gw, format!("{}/api/v1/cases", app.base), json!({
        "type": "dispute", "category": "D0201", "lat": 30.78412, "lon": 120.02352,
        "description": "邻居李四家装修噪音，与张三发生争执",
        "dispute": {"parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let dispute_id = d["id"].as_str().unwrap().to_string();

    // Multi-value lists: repeated or with [] — both accepted.
    let r = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key),
            ("service_code", "E0601"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("description", "楼下广场舞音响太响"),
            ("attribute[noise_source]", "square_dance"),
            ("attribute[noise_period][]", "evening"),
            ("attribute[noise_period][]", "night"),
        ],
        None,
    )
    .await;
    ok_json(&r);
    Filed {
        id,
        token,
        address_only_id,
        dispute_id,
    }
}

fn between(t: &str, a: &str, b: &str) -> String {
    t.split(a)
        .nth(1)
        .unwrap()
        .split(b)
        .next()
        .unwrap()
        .to_string()
}

async fn refused_requests(app: &TestApp) {
    let key = client_key(app).await;
    let key = key.as_str();
    let base_form = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = vec![
            ("service_code", "E0101"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("description", "垃圾"),
        ];
        v.extend_from_slice(extra);
        v
    };
    // Keys: missing, wrong → 403 in both formats.
    let e = o_post(app, "/requests.json", &base_form(&[]), None)
        .await
        .errors(StatusCode::FORBIDDEN);
    assert!(e[0].contains("api_key"), "{e:?}");
    o_post(
        app,
        "/requests.xml",
        &base_form(&[("api_key", "o311_wrong")]),
        None,
    )
    .await
    .errors(StatusCode::FORBIDDEN);
    o_post(app, "/requests.json", &base_form(&[]), Some("o311_wrong"))
        .await
        .errors(StatusCode::FORBIDDEN);

    let with_key = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("api_key", key)];
        v.extend(base_form(&[]));
        // Later values of the same name do not override the first: drop the base one.
        for (k, val) in extra {
            v.retain(|(n, _)| n != k);
            v.push((k, val));
        }
        v
    };
    let long = "很".repeat(4001);
    let mut f = with_key(&[]);
    f.retain(|(k, _)| *k != "description");
    f.push(("description", &long));
    let e = o_post(app, "/requests.json", &f, None)
        .await
        .errors(StatusCode::BAD_REQUEST);
    assert!(
        e[0].starts_with("description:") && e[0].contains("4000"),
        "{e:?}"
    );
    type Case<'a> = (&'a [(&'a str, &'a str)], StatusCode, &'a str);
    let cases: &[Case] = &[
        (
            &[("service_code", "")],
            StatusCode::BAD_REQUEST,
            "service_code",
        ),
        (
            &[("service_code", "X9999")],
            StatusCode::NOT_FOUND,
            "service_code",
        ),
        (&[("lat", "north")], StatusCode::BAD_REQUEST, "lat"),
        (&[("long", "")], StatusCode::BAD_REQUEST, "long"),
        (&[("lat", "91")], StatusCode::BAD_REQUEST, "lat"),
        (
            &[("lat", "39.9"), ("long", "116.4")],
            StatusCode::BAD_REQUEST,
            "lat/long",
        ),
        (&[("phone", "12345")], StatusCode::BAD_REQUEST, "phone"),
        (
            &[("media_url", "javascript:alert(1)")],
            StatusCode::BAD_REQUEST,
            "media_url",
        ),
        (
            &[("description", "a\u{1}b")],
            StatusCode::BAD_REQUEST,
            "description",
        ),
        (
            &[("jurisdiction_id", "110000")],
            StatusCode::NOT_FOUND,
            "jurisdiction_id",
        ),
    ];
    for (extra, status, field) in cases {
        let e = o_post(app, "/requests.json", &with_key(extra), None)
            .await
            .errors(*status);
        assert!(e[0].starts_with(field), "{extra:?}: {e:?}");
    }
    // No location at all.
    let mut f = with_key(&[]);
    f.retain(|(k, _)| !["lat", "long"].contains(k));
    let e = o_post(app, "/requests.xml", &f, None)
        .await
        .errors(StatusCode::BAD_REQUEST);
    assert!(e[0].contains("location"), "{e:?}");
    // Attributes: every problem at once (required missing, unknown code, value not in the list).
    let r = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key),
            ("service_code", "C0102"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("attribute[on_carriageway]", "maybe"),
            ("attribute[colour]", "red"),
        ],
        None,
    )
    .await;
    let e = r.errors(StatusCode::BAD_REQUEST);
    assert_eq!(e.len(), 3, "{e:?}");
    for part in [
        "attribute[colour]",
        "attribute[cover_state]: is required",
        "attribute[on_carriageway]",
    ] {
        assert!(e.iter().any(|m| m.contains(part)), "{part} in {e:?}");
    }
    let r = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key),
            ("service_code", "E0302"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
            ("attribute[damage_area]", "big"),
        ],
        None,
    )
    .await;
    assert!(r.errors(StatusCode::BAD_REQUEST)[0].contains("number"));
    // A JSON body is not what Open311 posts.
    let r = Client::new()
        .post(format!("{}/requests.json", base(app)))
        .json(&json!({"api_key": key, "service_code": "E0101"}))
        .send()
        .await
        .unwrap();
    let e = reply(r).await.errors(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(e[0].contains("x-www-form-urlencoded"), "{e:?}");
    // Nothing was half-written: the refused requests left no case behind.
    let disp = login(app, "demo-dispatcher").await;
    let (_, l) = get(
        &disp,
        format!(
            "{}/api/v1/cases?q=%E5%9E%83%E5%9C%BE&page_size=100",
            app.base
        ),
    )
    .await;
    assert!(
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["channel"] != "open311" || c["description"] != "垃圾"),
        "a refused request created a case"
    );
    // GET-only and POST-only resources.
    o_post(app, "/services.json", &[("api_key", key)], None)
        .await
        .errors(StatusCode::METHOD_NOT_ALLOWED);
}

async fn reading_requests(app: &TestApp) {
    let filed = &filed(app).await.1;
    // One request by id, in both formats, with every field present.
    let v = ok_json(&o_get(app, &format!("/requests/{}.json", filed.id)).await);
    let arr = v.as_array().expect("a one-element array");
    assert_eq!(arr.len(), 1);
    let r = &arr[0];
    for k in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(r.get(k).is_some(), "field {k} missing: {r}");
    }
    assert_eq!(r["service_request_id"], filed.id);
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "C0102");
    assert_eq!(r["service_name"], "污水井盖");
    assert!(r["lat"].is_f64() && r["long"].is_f64());
    // The public sees the place to about 100 m (filed at 30.78412).
    assert_eq!(r["lat"], 30.784);
    assert!(
        r["requested_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert!(r["expected_datetime"].is_string(), "the deadline");
    assert_eq!(r["media_url"], "https://photos.example.org/cover.jpg");
    assert!(r["zipcode"].is_null() && r["address_id"].is_null());
    // Personal data never appears, in any format or view.
    for path in [
        format!("/requests/{}.json?extensions=true", filed.id),
        format!("/requests/{}.xml?extensions=true", filed.id),
        "/requests.json?extensions=true".to_string(),
        "/requests.xml".to_string(),
    ] {
        let t = o_get(app, &path).await.text;
        for secret in [
            PHONE,
            "王小明",
            "小明",
            "wang@example.com",
            "fms-user-7",
            &filed.token,
        ] {
            assert!(!t.contains(secret), "{path} shows {secret}");
        }
    }
    let x = o_get(app, &format!("/requests/{}.xml", filed.id)).await;
    let t = ok_xml(&x);
    assert!(t.contains("<service_requests><request><service_request_id>"));
    assert!(
        t.contains("红旗路 &lt;人行道&gt; 上的污水井盖丢了 &amp; 没人管"),
        "{t}"
    );
    assert!(t.contains("<zipcode/>") || t.contains("<zipcode></zipcode>"));
    o_get(app, "/requests/01234567-89ab-7def-8123-456789abcdef.json")
        .await
        .errors(StatusCode::NOT_FOUND);
    o_get(app, "/requests/nonsense.xml")
        .await
        .errors(StatusCode::NOT_FOUND);

    // The token answers with the request id.
    let v = ok_json(&o_get(app, &format!("/tokens/{}.json", filed.token)).await);
    assert_eq!(v[0]["service_request_id"], filed.id);
    assert_eq!(v[0]["token"], filed.token);
    let x = o_get(app, &format!("/tokens/{}.xml", filed.token)).await;
    assert!(ok_xml(&x).contains(&format!(
        "<service_request_id>{}</service_request_id>",
        filed.id
    )));
    o_get(app, "/tokens/NOSUCHTOKEN.json")
        .await
        .errors(StatusCode::NOT_FOUND);

    // A dispute is no Open311 service: it is not there at all, not even by id, nor in the lists.
    o_get(
        app,
        &format!("/requests/{}.json?extensions=true", filed.dispute_id),
    )
    .await
    .errors(StatusCode::NOT_FOUND);
    let all = o_get(app, "/requests.json?extensions=true").await;
    assert!(!ok_json(&all).to_string().contains(&filed.dispute_id));
    // Address-only: no coordinates, the address as given.
    let v = ok_json(&o_get(app, &format!("/requests/{}.json", filed.address_only_id)).await);
    assert!(v[0]["lat"].is_null());
    assert_eq!(v[0]["address"], "吴兴区红旗路 88 号门口");

    // extensions=true: extended attributes, the request's attributes, the public history.
    let v = ok_json(&o_get(app, &format!("/requests/{}.json?extensions=true", filed.id)).await);
    let r = &v[0];
    assert_eq!(r["extended_attributes"]["state"], "reported");
    assert_eq!(r["extended_attributes"]["channel"], "open311");
    let attrs = r["attributes"].as_array().unwrap();
    assert!(
        attrs
            .iter()
            .any(|a| a["code"] == "cover_state" && a["value"] == "missing")
    );
    let notes = r["notes"].as_array().unwrap();
    assert_eq!(notes[0]["type"], "report");
    assert!(notes[0]["datetime"].is_string() && notes[0]["description"].is_string());
    o_get(app, "/requests.json?extensions=maybe")
        .await
        .errors(StatusCode::BAD_REQUEST);
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a bare array")
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_string())
        .collect()
}

async fn list_filters_dates_and_paging(app: &TestApp) {
    let all = ok_json(&o_get(app, "/requests.json").await);
    let n = all.as_array().unwrap().len();
    assert!(n > 20, "the demo has recent cases: {n}");
    assert!(n <= 1000);
    // Default window: the last 90 days.
    let cutoff = chrono::Utc::now() - chrono::Duration::days(90);
    for r in all.as_array().unwrap() {
        let t = chrono::DateTime::parse_from_rfc3339(r["requested_datetime"].as_str().unwrap())
            .unwrap();
        assert!(t >= cutoff, "{t} is older than 90 days");
        assert!(["open", "closed"].contains(&r["status"].as_str().unwrap()));
    }
    // XML lists the same requests.
    let x = o_get(app, "/requests.xml").await;
    assert_eq!(ok_xml(&x).matches("<request>").count(), n);

    // Status lists.
    let open = ids(&ok_json(&o_get(app, "/requests.json?status=open").await));
    let closed = ids(&ok_json(&o_get(app, "/requests.json?status=closed").await));
    let both = ids(&ok_json(
        &o_get(app, "/requests.json?status=open,closed").await,
    ));
    assert!(
        !open.is_empty() && !closed.is_empty(),
        "demo has open and closed cases"
    );
    assert_eq!(open.len() + closed.len(), n);
    assert_eq!(both.len(), n);
    let e = o_get(app, "/requests.json?status=pending")
        .await
        .errors(StatusCode::BAD_REQUEST);
    assert!(e[0].starts_with("status"));

    // service_code lists.
    let codes: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_code"].as_str().unwrap().to_string())
        .collect();
    let (a, b) = (&codes[0], codes.iter().find(|c| *c != &codes[0]).unwrap());
    let two = ok_json(&o_get(app, &format!("/requests.json?service_code={a},{b}")).await);
    let expected = codes.iter().filter(|c| *c == a || *c == b).count();
    assert_eq!(two.as_array().unwrap().len(), expected);
    assert!(
        two.as_array()
            .unwrap()
            .iter()
            .all(|r| r["service_code"] == *a || r["service_code"] == *b)
    );
    assert!(
        ok_json(&o_get(app, "/requests.json?service_code=X9999").await)
            .as_array()
            .unwrap()
            .is_empty()
    );
    let many = vec!["X"; 501].join(",");
    o_get(app, &format!("/requests.json?service_code={many}"))
        .await
        .errors(StatusCode::BAD_REQUEST);

    // service_request_id (comma list) overrides every other filter, and accepts case numbers.
    let all_ids = ids(&all);
    let pick = format!("{},{}", all_ids[0], all_ids[n - 1]);
    let v = ok_json(&o_get(app, &format!("/requests.json?service_request_id={pick}&service_code=X9999&status=closed&start_date=2000-01-01T00:00:00Z&end_date=2000-01-02T00:00:00Z")).await);
    let mut got = ids(&v);
    got.sort();
    let mut want = vec![all_ids[0].clone(), all_ids[n - 1].clone()];
    want.sort();
    assert_eq!(got, want);

    // Dates: Z and ±HH:MM name the same instant; a '+' that arrived unencoded (a space) is read back.
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r["requested_datetime"].as_str().unwrap()).unwrap()
        })
        .collect();
    let mid = times[n / 2].with_timezone(&chrono::Utc);
    let z = mid.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let cst = mid
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let enc = cst.replace('+', "%2B");
    let raw = cst.replace('+', "%20");
    let after_z = ids(&ok_json(
        &o_get(app, &format!("/requests.json?start_date={z}")).await,
    ));
    let after_cst = ids(&ok_json(
        &o_get(app, &format!("/requests.json?start_date={enc}")).await,
    ));
    let after_raw = ids(&ok_json(
        &o_get(app, &format!("/requests.json?start_date={raw}")).await,
    ));
    let utc_plus = mid.format("%Y-%m-%dT%H:%M:%S%%2B00:00").to_string();
    let after_utc = ids(&ok_json(
        &o_get(app, &format!("/requests.json?start_date={utc_plus}")).await,
    ));
    let expected = times
        .iter()
        .filter(|t| t.with_timezone(&chrono::Utc) >= mid)
        .count();
    assert_eq!(after_z.len(), expected);
    assert_eq!(after_z, after_cst);
    assert_eq!(after_z, after_raw);
    assert_eq!(after_z, after_utc);
    let before = ids(&ok_json(
        &o_get(app, &format!("/requests.json?end_date={z}")).await,
    ));
    assert!(before.len() + after_z.len() >= n);
    let window = ids(&ok_json(
        &o_get(app, &format!("/requests.json?start_date={z}&end_date={z}")).await,
    ));
    assert!(window.len() <= 2);
    // Older than 90 days, reachable with explicit dates.
    let old = ok_json(
        &o_get(
            app,
            "/requests.json?start_date=2025-01-01T00:00:00Z&end_date=2026-07-01T00:00:00%2B08:00",
        )
        .await,
    );
    for r in old.as_array().unwrap() {
        assert!(r["requested_datetime"].as_str().unwrap() < "2026-07-01T00:00:01+08:00");
    }
    let e = o_get(
        app,
        "/requests.xml?start_date=yesterday&end_date=2026-13-01T00:00:00Z",
    )
    .await
    .errors(StatusCode::BAD_REQUEST);
    assert_eq!(e.len(), 2, "both bad dates reported: {e:?}");
    o_get(
        app,
        &format!("/requests.json?start_date={z}&end_date=2000-01-01T00:00:00Z"),
    )
    .await
    .errors(StatusCode::BAD_REQUEST);

    // Paging: pages do not overlap and together make the list.
    let p1 = ids(&ok_json(
        &o_get(app, "/requests.json?page_size=7&page=1").await,
    ));
    let p2 = ids(&ok_json(
        &o_get(app, "/requests.json?page_size=7&page=2").await,
    ));
    assert_eq!(p1.len(), 7);
    assert_eq!(p2.len(), 7);
    assert_eq!([p1.clone(), p2].concat(), all_ids[..14].to_vec());
    o_get(app, "/requests.json?page=0")
        .await
        .errors(StatusCode::BAD_REQUEST);
    o_get(app, "/requests.json?page_size=1001")
        .await
        .errors(StatusCode::BAD_REQUEST);
    o_get(app, "/requests.xml?page_size=ten")
        .await
        .errors(StatusCode::BAD_REQUEST);

    // updated_after / updated_before.
    let updated: Vec<chrono::DateTime<chrono::Utc>> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r["updated_datetime"].as_str().unwrap())
                .unwrap()
                .to_utc()
        })
        .collect();
    let mut sorted = updated.clone();
    sorted.sort();
    let pivot = sorted[n / 2];
    let pz = pivot.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let ua = ok_json(&o_get(app, &format!("/requests.json?updated_after={pz}")).await);
    let ub = ok_json(&o_get(app, &format!("/requests.json?updated_before={pz}")).await);
    // Second precision in the parameter: compare at whole seconds.
    let secs = |t: &chrono::DateTime<chrono::Utc>| t.timestamp();
    assert!(ua.as_array().unwrap().iter().all(|r| {
        chrono::DateTime::parse_from_rfc3339(r["updated_datetime"].as_str().unwrap())
            .unwrap()
            .timestamp()
            >= secs(&pivot)
    }));
    assert!(ub.as_array().unwrap().iter().all(|r| {
        chrono::DateTime::parse_from_rfc3339(r["updated_datetime"].as_str().unwrap())
            .unwrap()
            .timestamp()
            <= secs(&pivot)
    }));
    assert!(!ua.as_array().unwrap().is_empty() && !ub.as_array().unwrap().is_empty());
    // By update alone, an old request changed in the window is there (no 90-day creation window).
    let old_end = (chrono::Utc::now() - chrono::Duration::days(100)).format("%Y-%m-%dT%H:%M:%SZ");
    let old = ok_json(
        &o_get(
            app,
            &format!("/requests.json?start_date=2025-01-01T00:00:00Z&end_date={old_end}"),
        )
        .await,
    );
    let o = &old
        .as_array()
        .unwrap()
        .first()
        .expect("the demo has cases older than 100 days");
    let u = chrono::DateTime::parse_from_rfc3339(o["updated_datetime"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let (a, b) = (
        (u - chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (u + chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ"),
    );
    let w = ids(&ok_json(
        &o_get(
            app,
            &format!("/requests.json?updated_after={a}&updated_before={b}"),
        )
        .await,
    ));
    assert!(
        w.contains(&o["service_request_id"].as_str().unwrap().to_string()),
        "{w:?}"
    );
}

async fn updates_both_ways(app: &TestApp) {
    let (key, filed) = filed(app).await;
    let (key, filed) = (key.as_str(), &filed);
    let start = (chrono::Utc::now() - chrono::Duration::seconds(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // The command center registers and dispatches the case: the feed shows both steps.
    let disp = login(app, "demo-dispatcher").await;
    act_ok(app, &disp, &filed.id, json!({"action": "register"})).await;
    act_ok(
        app,
        &disp,
        &filed.id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    let feed = ok_json(
        &o_get(
            app,
            &format!("/servicerequestupdates.json?start_date={start}"),
        )
        .await,
    );
    let mine: Vec<&Value> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == filed.id)
        .collect();
    assert_eq!(mine.len(), 2, "{feed}");
    assert_eq!(mine[0]["status"], "investigating");
    assert_eq!(mine[0]["external_status_code"], "registered");
    assert_eq!(mine[1]["status"], "action_scheduled");
    for u in &mine {
        for k in [
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "external_status_code",
        ] {
            assert!(u[k].is_string(), "{k} in {u}");
        }
        assert_eq!(u["media_url"], "");
    }
    let x = o_get(
        app,
        &format!("/servicerequestupdates.xml?start_date={start}"),
    )
    .await;
    let t = ok_xml(&x);
    assert!(
        t.contains("<service_request_updates><request_update><update_id>"),
        "{t}"
    );
    assert!(t.contains("<media_url/>") || t.contains("<media_url></media_url>"));
    // The request now names its department and its deadline.
    let r = ok_json(&o_get(app, &format!("/requests/{}.json", filed.id)).await);
    assert_eq!(r[0]["agency_responsible"], "吴兴区综合行政执法局");

    // A resident's update comes in: a public note, the state unchanged.
    let form = |uid: &'static str, status: &'static str, desc: &'static str| {
        vec![
            ("api_key", key.to_string()),
            ("service_request_id", filed.id.clone()),
            ("update_id", uid.to_string()),
            ("status", status.to_string()),
            ("updated_datetime", "2026-11-21T10:00:00+08:00".to_string()),
            ("description", desc.to_string()),
            ("first_name", "小明".to_string()),
            ("email", "wang@example.com".to_string()),
        ]
    };
    let post = async |f: Vec<(&str, String)>, fmt: &str| {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        o_post(app, &format!("/servicerequestupdates.{fmt}"), &f, None).await
    };
    let r = post(form("fms-1001", "FIXED", "今天路过看到已经盖上了"), "json").await;
    let v = ok_json(&r);
    assert!(v[0]["update_id"].as_str().unwrap().starts_with(&filed.id));
    let (_, case) = get(&disp, format!("{}/api/v1/cases/{}", app.base, filed.id)).await;
    assert_eq!(
        case["status"], "dispatched",
        "a resident's FIXED does not close a case"
    );
    let r = ok_json(&o_get(app, &format!("/requests/{}.json?extensions=true", filed.id)).await);
    assert_eq!(r[0]["status_notes"], "今天路过看到已经盖上了");
    assert!(
        r[0]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "comment")
    );
    // The public tracking view shows the resident's note too (Open311 shows no more than it).
    let (_, track) = get(
        &Client::new(),
        format!("{}/api/v1/track/{}", app.base, filed.token),
    )
    .await;
    assert!(
        track["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "comment" && e["note"] == "今天路过看到已经盖上了"),
        "{track}"
    );
    // Repeated update_id → 400; in XML too.
    post(form("fms-1001", "FIXED", "again"), "json")
        .await
        .errors(StatusCode::BAD_REQUEST);
    let e = post(form("fms-1001", "OPEN", "again"), "xml")
        .await
        .errors(StatusCode::BAD_REQUEST);
    assert!(e[0].contains("update_id"), "{e:?}");
    // Bad inputs, every missing field named.
    let e = o_post(
        app,
        "/servicerequestupdates.json",
        &[("api_key", key)],
        None,
    )
    .await
    .errors(StatusCode::BAD_REQUEST);
    for f in [
        "service_request_id",
        "update_id",
        "status",
        "updated_datetime",
        "description",
    ] {
        assert!(e.iter().any(|m| m.starts_with(f)), "{f} in {e:?}");
    }
    post(form("fms-1002", "SOLVED", "x"), "json")
        .await
        .errors(StatusCode::BAD_REQUEST);
    let mut f = form("fms-1003", "OPEN", "x");
    f[1].1 = "01234567-89ab-7def-8123-456789abcdef".into();
    post(f, "json").await.errors(StatusCode::NOT_FOUND);
    let mut f = form("fms-1004", "OPEN", "x");
    f.remove(0);
    post(f, "json").await.errors(StatusCode::FORBIDDEN);
    // A refused update did not use up its id: the good one goes through afterwards.
    let mut f = form("fms-1005", "OPEN", "x");
    f[4].1 = "not a time".into();
    post(f, "json").await.errors(StatusCode::BAD_REQUEST);
    let r = post(
        form("fms-1005", "in_progress", "还在施工，围挡拆了一半"),
        "xml",
    )
    .await;
    assert!(
        ok_xml(&r).contains("<service_request_updates><request_update><update_id>"),
        "{}",
        r.text
    );
    // Updates arriving at once on one case all land (a version conflict is retried, not refused).
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (url, key, id) = (
                format!("{}/servicerequestupdates.json", base(app)),
                key.to_string(),
                filed.id.clone(),
            );
            tokio::spawn(async move {
                let r = Client::new()
                    .post(url)
                    .form(&[
                        ("api_key", key.as_str()),
                        ("service_request_id", id.as_str()),
                        ("update_id", &format!("burst-{i}")),
                        ("status", "OPEN"),
                        ("updated_datetime", "2026-11-21T10:00:00Z"),
                        ("description", &format!("第 {i} 条补充")),
                    ])
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap())
            })
        })
        .collect();
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    let (_, hist) = get(
        &disp,
        format!("{}/api/v1/cases/{}/history", app.base, filed.id),
    )
    .await;
    let burst = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["data"]["update_id"]
                .as_str()
                .is_some_and(|u| u.starts_with("burst-"))
        })
        .count();
    assert_eq!(burst, 8);
    // REOPEN on a closed case: it stays closed, and a new case linked to it enters the intake queue.
    let closed = ok_json(&o_get(app, "/requests.json?status=closed&extensions=true").await);
    let old = closed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["extended_attributes"]["case_type"] == "service_event" && r["lat"].is_f64())
        .expect("a closed service event in the demo");
    let old_id = old["service_request_id"].as_str().unwrap().to_string();
    let reopen = |uid: &'static str, status: &'static str| {
        let mut f = form(uid, status, "又坏了，和上次一样");
        f[1].1 = old_id.clone();
        f
    };
    ok_json(&post(reopen("fms-2001", "FIXED"), "json").await);
    ok_json(&post(reopen("fms-2002", "REOPEN"), "json").await);
    let (_, old_case) = get(&disp, format!("{}/api/v1/cases/{old_id}", app.base)).await;
    assert!(
        ["closed", "rejected", "voided", "merged"].contains(&old_case["status"].as_str().unwrap())
    );
    let (_, hist) = get(&disp, format!("{}/api/v1/cases/{old_id}/history", app.base)).await;
    let comments: Vec<&Value> = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "comment")
        .collect();
    assert_eq!(comments.len(), 2);
    assert!(
        comments[0]["data"]["follow_up"].is_null(),
        "FIXED files nothing new"
    );
    assert_eq!(comments[1]["data"]["reported_status"], "reopen");
    let new_id = comments[1]["data"]["follow_up"]
        .as_str()
        .expect("REOPEN filed a new case");
    let (_, new_case) = get(&disp, format!("{}/api/v1/cases/{new_id}", app.base)).await;
    assert_eq!(new_case["status"], "reported");
    assert_eq!(new_case["channel"], "open311");
    assert_eq!(new_case["category"], old_case["category"]);
    assert_eq!(new_case["lat"], old_case["lat"]);
    let text = new_case["description"].as_str().unwrap();
    assert!(
        text.contains(old_case["number"].as_str().unwrap()) && text.contains("又坏了"),
        "{text}"
    );
    // The new case is an Open311 request like any other.
    let r = ok_json(&o_get(app, &format!("/requests/{new_id}.json")).await);
    assert_eq!(r[0]["status"], "open");
    // Residents' notes do not echo back into the feed the client reads.
    let feed = ok_json(
        &o_get(
            app,
            &format!("/servicerequestupdates.json?start_date={start}"),
        )
        .await,
    );
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .filter(|u| u["service_request_id"] == filed.id)
            .count()
            == 2
    );
    assert!(!feed.to_string().contains("小明") && !feed.to_string().contains("wang@example.com"));
}

async fn revoked_keys_are_refused(app: &TestApp) {
    let key = safegrid::app::tokens::issue_open311_key(&app.state, "short-lived")
        .await
        .unwrap();
    assert!(key.starts_with("o311_"));
    assert!(
        safegrid::app::tokens::issue_open311_key(&app.state, "short-lived")
            .await
            .is_err(),
        "names are unique"
    );
    let form = [
        ("api_key", key.as_str()),
        ("service_code", "E0101"),
        ("address_string", "凤凰路口"),
    ];
    ok_json(&o_post(app, "/requests.json", &form, None).await);
    // Revoked from the shell (`safegrid token revoke --open311`, another process): a running server
    // remembers a checked key for a second, then asks again.
    app.state
        .store
        .revoke_open311_client("short-lived")
        .await
        .unwrap();
    tokio::time::sleep(
        safegrid::app::tokens::TokenCache::<safegrid_store::Open311Client>::TTL
            + std::time::Duration::from_millis(50),
    )
    .await;
    let e = o_post(app, "/requests.json", &form, None)
        .await
        .errors(StatusCode::FORBIDDEN);
    assert!(e[0].contains("revoked"), "{e:?}");
    o_post(app, "/requests.xml", &form[1..], Some(&key))
        .await
        .errors(StatusCode::FORBIDDEN);
}

fn tight_limits(s: &mut safegrid::config::Settings) {
    s.rate_limits.open311_address = Rate::new(6, 5);
    s.open311.read_limit = Rate::new(6, 3);
    s.rate_limits.open311_key = Rate::new(2, 2);
    s.open311.body_limit_bytes = 4096;
}

async fn abuse_limits(app: &TestApp) {
    let key = safegrid::app::tokens::issue_open311_key(&app.state, "noisy")
        .await
        .unwrap();
    let form = [
        ("api_key", key.as_str()),
        ("service_code", "E0101"),
        ("address_string", "凤凰路口"),
    ];
    // Per key: a burst of 2, then 429 with Retry-After and an Open311 body.
    ok_json(&o_post(app, "/requests.json", &form, None).await);
    ok_json(&o_post(app, "/requests.json", &form, None).await);
    let r = o_post(app, "/requests.xml", &form, None).await;
    r.errors(StatusCode::TOO_MANY_REQUESTS);
    assert!(r.retry_after.as_deref().unwrap().parse::<u64>().unwrap() >= 1);
    // The body limit: a body over the configured size is refused.
    let big = "x".repeat(8192);
    let r = Client::new()
        .post(format!("{}/requests.json", base(app)))
        .form(&[("api_key", key.as_str()), ("description", big.as_str())])
        .send()
        .await;
    if let Ok(r) = r {
        reply(r).await.errors(StatusCode::PAYLOAD_TOO_LARGE);
    } // else: the server closed the connection before reading the body, also a refusal.
    // Per address, writes: a burst of 5 (4 used above), so a fresh key gets one more
    // request through and is then refused for the address.
    let other = safegrid::app::tokens::issue_open311_key(&app.state, "other")
        .await
        .unwrap();
    let form2 = [
        ("api_key", other.as_str()),
        ("service_code", "E0101"),
        ("address_string", "凤凰路口"),
    ];
    ok_json(&o_post(app, "/requests.json", &form2, None).await);
    let r = o_post(app, "/requests.json", &form2, None).await;
    r.errors(StatusCode::TOO_MANY_REQUESTS);
    assert!(r.retry_after.is_some());
    // Reads have their own bucket (burst 3 here): untouched by the writes above.
    for _ in 0..3 {
        let r = o_get(app, "/services.json").await;
        ok_json(&r);
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = o_get(app, "/services.xml").await;
    r.errors(StatusCode::TOO_MANY_REQUESTS);
    assert!(r.retry_after.is_some());
}

fn two_counties(s: &mut safegrid::config::Settings) {
    no_address_limit(s);
    s.open311.jurisdictions = vec!["330502".into(), "330503000000".into()];
}

fn region_codes(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["extended_attributes"]["region_code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A deployment serving two counties (吴兴区, 南浔区) as two jurisdictions.
async fn several_jurisdictions(app: &TestApp) {
    let e = o_get(app, "/services.json")
        .await
        .errors(StatusCode::BAD_REQUEST);
    assert!(
        e[0].starts_with("jurisdiction_id") && e[0].contains("330502, 330503"),
        "{e:?}"
    );
    o_get(app, "/requests.xml?jurisdiction_id=330500")
        .await
        .errors(StatusCode::NOT_FOUND);
    let wx = ok_json(&o_get(app, "/requests.json?jurisdiction_id=330502&extensions=true").await);
    let nx = ok_json(
        &o_get(
            app,
            "/requests.json?jurisdiction_id=330503000000&extensions=true",
        )
        .await,
    );
    assert!(!region_codes(&wx).is_empty() && !region_codes(&nx).is_empty());
    assert!(region_codes(&wx).iter().all(|r| r.starts_with("330502")));
    assert!(region_codes(&nx).iter().all(|r| r.starts_with("330503")));
    let nx_ids = ids(&nx);
    let feed = ok_json(&o_get(app, "/servicerequestupdates.json?jurisdiction_id=330502").await);
    assert!(!feed.as_array().unwrap().is_empty());
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .all(|u| !nx_ids.contains(&u["service_request_id"].as_str().unwrap().to_string()))
    );

    let key = safegrid::app::tokens::issue_open311_key(&app.state, "county-app")
        .await
        .unwrap();
    // A point in 吴兴区 filed under 南浔区 is refused.
    let e = o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key.as_str()),
            ("jurisdiction_id", "330503"),
            ("service_code", "E0101"),
            ("lat", "30.78412"),
            ("long", "120.02352"),
        ],
        None,
    )
    .await
    .errors(StatusCode::BAD_REQUEST);
    assert!(e[0].contains("jurisdiction 330503"), "{e:?}");
    o_post(
        app,
        "/requests.json",
        &[
            ("api_key", key.as_str()),
            ("service_code", "E0101"),
            ("address_string", "南浔古镇东大街"),
        ],
        None,
    )
    .await
    .errors(StatusCode::BAD_REQUEST);
    // Located by address only, it belongs to the jurisdiction it was filed in.
    let v = ok_json(
        &o_post(
            app,
            "/requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", "330503"),
                ("service_code", "E0101"),
                ("address_string", "南浔古镇东大街"),
            ],
            None,
        )
        .await,
    );
    let id = v[0]["service_request_id"].as_str().unwrap();
    let token = v[0]["token"].as_str().unwrap();
    let r = ok_json(
        &o_get(
            app,
            &format!("/requests/{id}.json?jurisdiction_id=330503&extensions=true"),
        )
        .await,
    );
    assert!(
        r[0]["extended_attributes"]["region_code"]
            .as_str()
            .unwrap()
            .starts_with("330503")
    );
    assert_eq!(r[0]["extended_attributes"]["needs_location"], true);
    o_get(app, &format!("/requests/{id}.json?jurisdiction_id=330502"))
        .await
        .errors(StatusCode::NOT_FOUND);
    ok_json(&o_get(app, &format!("/tokens/{token}.json?jurisdiction_id=330503")).await);
    o_get(app, &format!("/tokens/{token}.xml?jurisdiction_id=330502"))
        .await
        .errors(StatusCode::NOT_FOUND);
}
