//! The second factor (动态口令, TOTP) that 等保 2.0 asks of administrators, told over HTTP on each
//! backend: an administrator enrols from the API, every login then asks for a code, a wrong one
//! counts towards the lockout, a used one is refused; with `admin_totp_required` an administrator
//! without a factor cannot log in while other staff can; the security administrator's reset.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use safegrid_domain::totp;
use serde_json::{Value, json};

story!(administrators_log_in_with_a_second_factor);

async fn login_raw(app: &TestApp, user: &str, code: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "username": user, "password": PASSWORD });
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    post(
        &Client::new(),
        format!("{}/api/v1/auth/login", app.base),
        body,
    )
    .await
}

/// The 30-second step now.
fn now_step() -> i64 {
    totp::step_of(chrono::Utc::now().timestamp())
}

/// The code of one step. Steps are fixed once per check (not "now" each time), so a story that
/// crosses a step boundary sends the same codes.
fn code(secret: &str, step: i64) -> String {
    totp::code_at_step(&totp::base32_decode(secret).unwrap(), step)
}

/// A six-digit code that is none of the accepted steps' codes.
fn wrong_code(secret: &str) -> String {
    let now = now_step();
    let taken: Vec<String> = (-2..=2).map(|o| code(secret, now + o)).collect();
    (0..1000)
        .map(|n| format!("{:06}", 123_456 + n))
        .find(|c| !taken.contains(c))
        .unwrap()
}

async fn administrators_log_in_with_a_second_factor(app: &TestApp) {
    let admin = login(app, "demo-admin").await;
    let (s, v) = get(&admin, format!("{}/api/v1/auth/totp", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"enabled": false, "required": false, "pending": false})
    );

    // Confirming before a secret was drawn, or with a wrong code: 422 naming `code`.
    let (s, v) = post(
        &admin,
        format!("{}/api/v1/auth/totp/confirm", app.base),
        json!({"code": "123456"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "code", "{v}");
    let (s, e) = post(&admin, format!("{}/api/v1/auth/totp", app.base), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let secret = e["secret"].as_str().unwrap().to_string();
    assert_eq!(totp::base32_decode(&secret).unwrap().len(), 20);
    assert!(
        e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/"),
        "{e}"
    );
    let (s, v) = post(
        &admin,
        format!("{}/api/v1/auth/totp/confirm", app.base),
        json!({"code": wrong_code(&secret)}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "code", "{v}");
    // Still off until confirmed: a password alone logs in.
    assert_eq!(login_raw(app, "demo-admin", None).await.0, StatusCode::OK);
    let s0 = now_step();
    let (s, v) = post(
        &admin,
        format!("{}/api/v1/auth/totp/confirm", app.base),
        json!({"code": code(&secret, s0)}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true, "{v}");

    // Now the password alone is not enough, and says what is missing.
    let (s, v) = login_raw(app, "demo-admin", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "totp_required", "{v}");
    let (s, v) = login_raw(app, "demo-admin", Some(&wrong_code(&secret))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "bad_credentials", "{v}");
    // The confirming code's step is used up: the same code again is refused.
    let (s, v) = login_raw(app, "demo-admin", Some(&code(&secret, s0))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // The next step's code (a phone clock a little ahead) passes once, then not again.
    let next = code(&secret, s0 + 1);
    let (s, v) = login_raw(app, "demo-admin", Some(&next)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        login_raw(app, "demo-admin", Some(&next)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A wrong password with the right code is a wrong password.
    let (s, _) = post(&Client::new(), format!("{}/api/v1/auth/login", app.base),
        json!({"username": "demo-admin", "password": "not-the-password-1", "totp": code(&secret, s0 + 1)})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The web form asks for the code too.
    let (_, r) = web_login_form(app, "demo-admin", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("动态口令") && html.contains("name=\"totp\""),
        "{html}"
    );

    // Audited: enrolment and the failures with their reasons.
    let (recs, _) = app
        .state
        .store
        .audit_search(&safegrid_store::AuditFilter {
            actor: Some("demo-admin".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let reasons: Vec<String> = recs
        .iter()
        .filter(|r| r.action == "auth.login_failed")
        .map(|r| r.detail["reason"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(recs.iter().any(|r| r.action == "auth.totp_enabled"));
    assert!(
        reasons.iter().any(|r| r == "second factor missing"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r == "wrong second-factor code"),
        "{reasons:?}"
    );

    // The security administrator's reset needs a reason and is audited.
    let user = app.state.store.user_by_name("demo-admin").await.unwrap();
    let err = safegrid::app::totp::reset(&app.state, &user, "cli:secadm", " ")
        .await
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("reason"));
    assert!(
        safegrid::app::totp::reset(&app.state, &user, "cli:secadm", "phone lost")
            .await
            .unwrap()
    );
    assert_eq!(login_raw(app, "demo-admin", None).await.0, StatusCode::OK);

    // Required for administrators: refused until enrolled; other staff log in as before.
    let backend = if app.backend == "sqlite" {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    let strict = spawn_app_with(backend, |s| {
        open_limits(s);
        s.admin_totp_required = true;
    })
    .await
    .unwrap()
    .expect("the backend answers: the story runs on it");
    let (s, v) = login_raw(&strict, "demo-admin", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "totp_enrolment_required", "{v}");
    assert_eq!(
        login_raw(&strict, "demo-dispatcher", None).await.0,
        StatusCode::OK
    );
    let admin = strict.state.store.user_by_name("demo-admin").await.unwrap();
    let e = safegrid::app::totp::start(&strict.state, &admin, "cli:secadm")
        .await
        .unwrap();
    let s1 = now_step();
    safegrid::app::totp::confirm(
        &strict.state,
        &admin,
        &code(&e.secret, s1),
        chrono::Utc::now(),
        "cli:secadm",
    )
    .await
    .unwrap();
    assert_eq!(
        login_raw(&strict, "demo-admin", Some(&code(&e.secret, s1 + 1)))
            .await
            .0,
        StatusCode::OK
    );
}
