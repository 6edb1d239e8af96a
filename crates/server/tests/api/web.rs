//! The web pages over plain HTTP (no browser): CSRF on every form, field errors in the person's
//! language, photo checks and EXIF stripping, privacy of the public pages, scoping of staff pages,
//! CSP-clean markup, assets and map layers. Run on SQLite and PostgreSQL like the API suite.

use crate::helpers::{PASSWORD, TestApp, browser, csrf_of, web_session};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use std::io::Cursor;

story!(a_report_from_the_form_to_the_work_pages);
story!(accounts_are_edited_from_the_admin_page);

async fn page(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn web_login(app: &TestApp, user: &str) -> Client {
    web_session(app, user, PASSWORD).await
}

/// A JPEG carrying an EXIF segment with a GPS marker (as phones write them).
fn jpeg_with_exif() -> Vec<u8> {
    let mut plain = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        64,
        48,
        image::Rgb([200, 40, 40]),
    ))
    .write_to(&mut plain, image::ImageFormat::Jpeg)
    .unwrap();
    let plain = plain.into_inner();
    let exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\0GPSLAT30.78";
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(exif);
    out.extend(&plain[2..]);
    out
}

fn report_form(csrf: &str, photo: Option<(&str, Vec<u8>)>) -> Form {
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let mut f = Form::new()
        .text("csrf", csrf.to_string())
        .text("category", "C0301")
        .text("description", "网页测试：垃圾箱满溢")
        .text("lat", lat.to_string())
        .text("lon", lon.to_string())
        .text("name", "张三")
        .text("phone", "13812345678");
    if let Some((name, bytes)) = photo {
        f = f.part("photos", Part::bytes(bytes).file_name(name.to_string()));
    }
    f
}

/// A resident reports with a photo and follows it; staff work the case from their pages; the
/// administrator edits limits; errors, languages, assets and map layers.
async fn a_report_from_the_form_to_the_work_pages(app: &TestApp) {
    let b = &app.base;
    // Pages carry no inline script or style (the CSP forbids them) and set the CSP header.
    let resident = browser();
    let r = resident.get(format!("{b}/")).send().await.unwrap();
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let home = r.text().await.unwrap();
    for bad in ["<style", " style=", "<script>", "onclick=", "javascript:"] {
        assert!(!home.contains(bad), "inline {bad} on the report page");
    }
    assert!(home.contains("我要反映问题"));
    let csrf = csrf_of(&home);

    // A form without its token changes nothing.
    let r = resident
        .post(format!("{b}/report"))
        .multipart(report_form("forged", None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("表单已过期"));

    // A file that is not a photo is refused with the reason next to the field, in Chinese.
    let r = resident
        .post(format!("{b}/report"))
        .multipart(report_form(
            &csrf,
            Some(("x.pdf", b"%PDF-1.7 nope".to_vec())),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"err-photo\"") && html.contains("只接受 JPEG"),
        "{html}"
    );
    // …and in English on the English page; a missing category names its field.
    let f = Form::new()
        .text("csrf", csrf.clone())
        .text("description", "x")
        .text("lat", "30.78")
        .text("lon", "120.02");
    let r = resident
        .post(format!("{b}/report?lang=en"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"err-category\"") && html.contains("Category:"),
        "{html}"
    );
    // The picker offers what the form can file: no dispute, petition or hazard classes (they
    // need records this form does not collect); one posted anyway is refused where it shows.
    assert!(home.contains("value=\"C0301\"") && !home.contains("value=\"D0101\""));
    let f = Form::new()
        .text("csrf", csrf.clone())
        .text("category", "D0101")
        .text("description", "邻居家漏水")
        .text("lat", "30.78")
        .text("lon", "120.02");
    let r = resident
        .post(format!("{b}/report"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let head = html
        .split("<p class=\"field-error\">")
        .nth(1)
        .unwrap_or_else(|| panic!("an error at the form's head: {html}"));
    assert!(head.starts_with("dispute"), "{head}");

    // A good report with a phone photo: redirected to its tracking page.
    let r = resident
        .post(format!("{b}/report"))
        .multipart(report_form(&csrf, Some(("phone.jpg", jpeg_with_exif()))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/track/"), "{to}");
    let code = to[7..].split('?').next().unwrap().to_string();
    let (s, track) = page(&resident, format!("{b}{to}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(track.contains(&code));
    // The public timeline names no one and shows no contact.
    for private in ["张三", "张*", "13812345678", "138****5678"] {
        assert!(!track.contains(private), "{private} on the tracking page");
    }
    // The photo is served to the code's holder, re-encoded without EXIF/GPS.
    let at = track
        .find(&format!("/track/{code}/photos/"))
        .expect("a photo link");
    let path = track[at..].split('"').next().unwrap().to_string();
    let r = resident.get(format!("{b}{path}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]));
    assert!(!bytes.windows(4).any(|w| w == b"Exif") && !bytes.windows(6).any(|w| w == b"GPSLAT"));
    // …not under another case's code, and not to the public without one.
    let photo_name = path.rsplit('/').next().unwrap();
    let (s, _) = page(
        &browser(),
        format!("{b}/track/AAAAAAAAAA/photos/{photo_name}"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(&browser(), format!("{b}/work/photos/{photo_name}")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "staff photos need a login");

    // The public board lists it without personal data.
    let (s, board) = page(&browser(), format!("{b}/board?status=open")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!board.contains("张三") && !board.contains("13812345678"));

    // Staff: the dispatcher finds it in the queue; the case page offers exactly what the state allows.
    let disp = web_login(app, "demo-dispatcher").await;
    let (_, list) = page(
        &disp,
        format!("{b}/work/cases?q=%E7%BD%91%E9%A1%B5%E6%B5%8B%E8%AF%95"),
    )
    .await;
    let needle = "href=\"/work/cases/";
    let at = list.find(needle).expect("the case in the search");
    let id = list[at + needle.len()..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (s, case) = page(&disp, format!("{b}/work/cases/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    for a in ["register", "reject", "link_duplicate"] {
        assert!(case.contains(&format!("id=\"form-{a}\"")), "{a} offered");
    }
    for a in ["dispatch", "close", "handle", "verify"] {
        assert!(
            !case.contains(&format!("id=\"form-{a}\"")),
            "{a} not offered"
        );
    }
    // The contact is masked until the command center reveals it, with a reason (audited).
    assert!(!case.contains("13812345678"), "masked by default");
    assert!(case.contains("138****5678"));
    assert!(case.contains("id=\"form-reveal\""));
    let r = disp
        .post(format!("{b}/work/cases/{id}/reveal"))
        .form(&[("csrf", csrf_of(&case).as_str()), ("reason", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = disp
        .post(format!("{b}/work/cases/{id}/reveal"))
        .form(&[
            ("csrf", csrf_of(&case).as_str()),
            ("reason", "回访核实处理情况"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shown = r.text().await.unwrap();
    assert!(
        shown.contains("13812345678"),
        "the command center sees the contact to call back after revealing it"
    );
    let r = disp
        .post(format!("{b}/work/cases/{id}/reveal"))
        .form(&[("csrf", "forged"), ("reason", "回访核实处理情况")])
        .send()
        .await
        .unwrap();
    assert!(
        !r.text().await.unwrap().contains("13812345678"),
        "no reveal without the form's token"
    );
    // An action without the form's token is refused, and nothing changes.
    let f = Form::new().text("action", "register").text("csrf", "nope");
    let r = disp
        .post(format!("{b}/work/cases/{id}/act"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, case) = page(&disp, format!("{b}/work/cases/{id}")).await;
    assert!(case.contains("data-status=\"reported\""));
    // A reject without its reason comes back with the note's error, in the page's language.
    let f = Form::new()
        .text("action", "reject")
        .text("csrf", csrf_of(&case));
    let r = disp
        .post(format!("{b}/work/cases/{id}/act"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("请填写说明"));
    // Registered straight from the intake queue, which it returns to.
    let (_, queue) = page(&disp, format!("{b}/work/queue")).await;
    assert!(
        queue.contains(&format!("action=\"/work/cases/{id}/act\"")),
        "inline register in the queue"
    );
    let f = Form::new()
        .text("action", "register")
        .text("return_to", "/work/queue")
        .text("csrf", csrf_of(&queue));
    let r = disp
        .post(format!("{b}/work/cases/{id}/act"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/work/queue");
    let (_, case) = page(&disp, format!("{b}/work/cases/{id}")).await;
    assert!(
        case.contains("data-status=\"registered\"") && case.contains("id=\"dispatch-deadline\"")
    );

    // Other roles: the leader sees the contact masked; the handler of another county sees nothing.
    let leader = web_login(app, "demo-leader").await;
    let (_, case) = page(&leader, format!("{b}/work/cases/{id}")).await;
    assert!(case.contains("138****5678") && !case.contains("13812345678"));
    let handler = web_login(app, "demo-handler").await;
    let (s, _) = page(&handler, format!("{b}/work/cases/{id}")).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "not dispatched to the handler's department yet"
    );
    let (s, _) = page(&handler, format!("{b}/work/queue")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(&handler, format!("{b}/work/admin")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, dash) = page(&leader, format!("{b}/work/dashboard?region=330502000000")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(dash.contains("data-kpi=\"close_rate\""));

    // The administrator edits a category's limits: a bad one is named next to its field, nothing
    // is saved; a good one is used at once.
    let admin = web_login(app, "demo-admin").await;
    let (s, form) = page(&admin, format!("{b}/work/admin/categories/C0301")).await;
    assert_eq!(s, StatusCode::OK);
    let mut fields: Vec<(String, String)> = vec![];
    for part in form.split("name=\"limit_").skip(1) {
        let name = format!("limit_{}", part.split('"').next().unwrap());
        let value = part
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        fields.push((name, value));
    }
    assert_eq!(fields.len(), 15, "urgency × stage");
    let mut bad = fields.clone();
    bad.push(("csrf".into(), csrf_of(&form)));
    bad.push(("department_kind".into(), "cgj".into()));
    bad.push(("active".into(), "on".into()));
    bad.retain(|(k, _)| k != "limit_normal_handle");
    bad.push(("limit_normal_handle".into(), "3 fortnights".into()));
    let r = admin
        .post(format!("{b}/work/admin/categories/C0301"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("时限格式不正确"));
    let good: Vec<(String, String)> = bad
        .into_iter()
        .map(|(k, v)| {
            if k == "limit_normal_handle" {
                (k, "7 working_days".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let r = admin
        .post(format!("{b}/work/admin/categories/C0301"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, adm) = page(&admin, format!("{b}/work/admin")).await;
    assert!(adm.contains("7 个工作日"));
    let (_, case) = page(&disp, format!("{b}/work/cases/{id}")).await;
    assert!(
        case.contains("7 个工作日"),
        "the dispatch preview uses the new limit"
    );

    // Unknown pages answer a page in the person's language; the API keeps its JSON.
    let (s, html) = page(&browser(), format!("{b}/no-such-page?lang=en")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("was not found"));
    let r = browser()
        .get(format!("{b}/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    // A malformed form or query gets a page, not a raw text answer.
    let r = browser()
        .post(format!("{b}/login"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("表单无法读取"));
    let (s, html) = page(&disp, format!("{b}/work/cases?page=abc")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("<main"));

    // The language switch remembers the choice and only goes back to this site.
    let c = browser();
    let r = c
        .get(format!("{b}/lang?to=en&next=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
    let (_, html) = page(&c, format!("{b}/board")).await;
    assert!(html.contains("Public board") && html.contains("lang=\"en\""));

    // Assets: types and long caching for the vendored libraries.
    let r = c
        .get(format!("{b}/assets/vendor/leaflet-1.9.4/leaflet.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let r = c.get(format!("{b}/assets/app.css")).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // Map layers: counties when zoomed out, grids of the view only when zoomed in.
    let v: serde_json::Value = c
        .get(format!("{b}/web/geo/layer?zoom=9"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["level"], "county");
    assert_eq!(
        v["features"].as_array().unwrap().len(),
        5,
        "Huzhou's five counties"
    );
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let bbox = format!(
        "{},{},{},{}",
        lon - 0.01,
        lat - 0.01,
        lon + 0.01,
        lat + 0.01
    );
    let v: serde_json::Value = c
        .get(format!("{b}/web/geo/layer?zoom=15&bbox={bbox}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["level"], "grid");
    let n = v["features"].as_array().unwrap().len();
    assert!(n > 0 && n < 500, "{n} grids in a 2 km view");
}

/// The administrator changes a leader's scope and disables an account from the page: the
/// password policy applies, the changes are audited and the account's sessions end.
async fn accounts_are_edited_from_the_admin_page(app: &TestApp) {
    let b = &app.base;
    let admin = web_login(app, "demo-admin").await;
    let leader = web_login(app, "demo-leader").await;
    let (s, _) = page(&leader, format!("{b}/work/dashboard")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, html) = page(&admin, format!("{b}/work/admin")).await;
    let csrf = csrf_of(&html);
    let id = app
        .state
        .store
        .user_by_name("demo-leader")
        .await
        .unwrap()
        .id;
    // A weak new password is refused with the field named; nothing changes.
    let r = admin
        .post(format!("{b}/work/admin/users/{id}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role", "leader"),
            ("scope", "330521"),
            ("password", "1234567890"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.state.store.user(id).await.unwrap().regions,
        vec!["330500000000".to_string()]
    );
    let r = admin
        .post(format!("{b}/work/admin/users/{id}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role", "leader"),
            ("scope", "330521"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    assert_eq!(
        app.state.store.user(id).await.unwrap().regions,
        vec!["330521000000".to_string()]
    );
    let (s, _) = page(&leader, format!("{b}/work/dashboard")).await;
    assert_ne!(s, StatusCode::OK, "the narrowed account's session ended");
    let (entries, _) = app
        .state
        .store
        .audit_search(&safegrid_store::AuditFilter {
            action: Some("account.update".into()),
            target_id: Some("demo-leader".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_name, "demo-admin");
    // Without the form's token nothing changes.
    let r = admin
        .post(format!("{b}/work/admin/users/{id}"))
        .form(&[("csrf", "forged"), ("role", "admin"), ("scope", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.state.store.user(id).await.unwrap().role,
        safegrid_domain::Role::Leader
    );
}
