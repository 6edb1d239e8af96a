//! The account page (我的账号): who you are, and the second factor (动态口令) — drawn as a QR code
//! an authenticator app scans, confirmed with its first code.

use super::ctx::{Ctx, Page, WebError, WebForm, respond};
use crate::app::state::SharedState;
use crate::app::totp;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: Ctx,
    status: totp::Status,
    /// The secret just drawn (shown once), with its QR code as SVG.
    enrolment: Option<(totp::Enrolment, String)>,
    error: String,
    done: bool,
}

async fn page(
    st: &SharedState,
    ctx: Ctx,
    enrolment: Option<totp::Enrolment>,
    error: String,
    done: bool,
) -> Page {
    let u = ctx.require_user()?.clone();
    let status = totp::status(st, &u).await?;
    let enrolment = enrolment.map(|e| {
        let svg = qr_svg(&e.otpauth_uri);
        (e, svg)
    });
    let status_code = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let p = AccountPage {
        ctx,
        status,
        enrolment,
        error,
        done,
    };
    Ok(p.ctx.render_status(status_code, &p))
}

/// The URI as an SVG QR code (medium error correction, as authenticator apps read them).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // An otpauth URI is far below a QR code's capacity; the text secret is shown anyway.
        Err(_) => String::new(),
    }
}

async fn show(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let c = ctx.clone();
    respond(&c, page(&st, ctx, None, String::new(), false).await)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn start(State(st): State<SharedState>, ctx: Ctx, WebForm(f): WebForm<CsrfForm>) -> Response {
    let c = ctx.clone();
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        let u = ctx.require_user()?.clone();
        let e = totp::start(&st, &u, &u.username).await?;
        page(&st, ctx, Some(e), String::new(), false).await
    }
    .await;
    respond(&c, r)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    code: String,
}

async fn confirm(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<ConfirmForm>,
) -> Response {
    let c = ctx.clone();
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        let u = ctx.require_user()?.clone();
        match totp::confirm(&st, &u, &f.code, chrono::Utc::now(), &u.username).await {
            Ok(()) => page(&st, ctx, None, String::new(), true).await,
            Err(e) if e.field.is_some() => {
                // Show the same secret again so the person can retry with the next code.
                let pending = st.store.totp_state(u.id).await?.pending_secret;
                let again = pending.map(|secret| totp::Enrolment {
                    otpauth_uri: safegrid_domain::totp::otpauth_uri(
                        totp::ISSUER,
                        &u.username,
                        &secret,
                    ),
                    secret,
                });
                let msg = ctx.t("account.totp_wrong").to_string();
                page(&st, ctx, again, msg, false).await
            }
            Err(e) => Err(WebError::from(e)),
        }
    }
    .await;
    respond(&c, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/account", get(show))
        .route("/work/account/totp", post(start))
        .route("/work/account/totp/confirm", post(confirm))
}
