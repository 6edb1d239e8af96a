//! The grid worker's pages offline (离线填报): the installable app's manifest and icons, the
//! service worker (`assets/sw.js`, served at the root so its scope covers `/` and `/work/…`), the
//! outbox page (`/work/outbox`, drawn by `assets/offline.js` from the phone's own queue), and what
//! the pages' handlers need to answer a replayed submission: the `X-Safegrid-Offline` marker, a
//! refusal a script reads, and whether a submission's `client_id` was applied already.
//!
//! The queue lives on the phone (IndexedDB); the server keeps nothing of it. Each queued form
//! carries a `client_id` made when the form was shown: a report's becomes the case's id
//! (`AppState::create_case_once`), an action's is noted in its history entry, an inspection's is
//! its id — so a submission sent twice is stored once.

use super::ctx::{Ctx, respond};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use safegrid_domain::engine::Case;
use safegrid_store::User;
use serde_json::json;
use std::sync::LazyLock;
use uuid::Uuid;

/// The header the outbox sends with a replayed submission (`assets/sw.js`).
pub const REPLAY_HEADER: &str = "x-safegrid-offline";

/// Whether this request is a replay from the phone's outbox: its refusals are then answered as
/// JSON (`refusal`), which the outbox shows, instead of the form page again.
pub struct Replay(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Replay {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Replay(parts.headers.contains_key(REPLAY_HEADER)))
    }
}

/// A refused replay: `{"refused": {"status", "errors": [{"field", "message"}], "state"}}`, the
/// messages in the person's language, each naming its field (`form` for the whole form).
pub fn refusal(status: StatusCode, errors: &[(String, String)], state: Option<&str>) -> Response {
    let errors: Vec<_> = errors
        .iter()
        .map(|(f, m)| json!({ "field": f, "message": m }))
        .collect();
    let body = json!({ "refused": {
        "status": status.as_u16(),
        "errors": errors,
        "state": state,
    }});
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(body),
    )
        .into_response()
}

/// 409: the case left the state the queued form was made in (closed by someone else meanwhile);
/// the message names the state it is in now.
pub fn state_changed(ctx: &Ctx, case: &Case, action: &str) -> Response {
    let state = safegrid_domain::workflow::workflow(&case.case_type)
        .and_then(|w| w.states.iter().find(|s| s.name == case.status))
        .map(|s| match ctx.lang {
            super::i18n::Lang::En => s.en.clone(),
            super::i18n::Lang::Zh => s.zh.clone(),
        })
        .unwrap_or_else(|| case.status.clone());
    let message = ctx
        .t("offline.state_changed")
        .replace("{state}", &state)
        .replace("{action}", ctx.t(&format!("action.{action}")));
    refusal(
        StatusCode::CONFLICT,
        &[("state".to_string(), message)],
        Some(&case.status),
    )
}

/// Whether `user` already applied a submission with this `client_id` to the case (its history
/// entry notes the id).
pub async fn applied_before(
    st: &SharedState,
    case: &Case,
    client_id: Uuid,
    user: &User,
) -> Result<bool, super::ctx::WebError> {
    let id = client_id.to_string();
    Ok(st.store.events(case).await?.iter().any(|e| {
        e.actor_id == Some(user.id)
            && serde_json::from_str::<serde_json::Value>(&e.data)
                .is_ok_and(|d| d.get("client_id").and_then(|v| v.as_str()) == Some(&id))
    }))
}

// ---------------------------------------------------------------- the installable app

/// The web app manifest: installable from the browser's menu, opening on the worker's pages.
async fn manifest(ctx: Ctx) -> Response {
    let body = json!({
        "name": ctx.t("app.name"),
        "short_name": ctx.t("app.name"),
        "description": ctx.t("offline.manifest_description"),
        "lang": ctx.lang.html_code(),
        "start_url": "/work",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            { "src": "/icons/app-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any" },
            { "src": "/icons/app-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any" },
            { "src": "/icons/app-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable" },
        ],
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/manifest+json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The app's icon, drawn here rather than kept as a binary: the brand's blue, full bleed (so
/// it is also a maskable icon), with a white 3×3 grid (网格) inside the safe zone.
fn draw_icon(size: u32) -> Vec<u8> {
    let blue = image::Rgb([0x0b, 0x5c, 0xad]);
    let white = image::Rgb([0xff, 0xff, 0xff]);
    // The maskable safe zone is the central 80 %; the grid keeps inside 56 %.
    let (lo, hi) = (size * 22 / 100, size * 78 / 100);
    let line = (size / 40).max(2);
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let inside = (lo..=hi).contains(&x) && (lo..=hi).contains(&y);
        let on_line = |v: u32| (0..4).any(|i| v.abs_diff(lo + (hi - lo) * i / 3) < line);
        if inside && (on_line(x) || on_line(y)) {
            white
        } else {
            blue
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    out.into_inner()
}

static ICON_192: LazyLock<Vec<u8>> = LazyLock::new(|| draw_icon(192));
static ICON_512: LazyLock<Vec<u8>> = LazyLock::new(|| draw_icon(512));

fn png(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn icon_192() -> Response {
    png(ICON_192.as_slice())
}

async fn icon_512() -> Response {
    png(ICON_512.as_slice())
}

/// The service worker, with what it must know from the server put in front of it: the files to
/// keep (every embedded asset, by its path), the version of those files (a new build makes a
/// new cache and drops the old one), and the tile template to cache (`tile_url`).
async fn service_worker(State(st): State<SharedState>) -> Response {
    static SW: &str = include_str!("../../assets/sw.js");
    let assets: Vec<String> = super::assets::paths()
        .map(|p| format!("/assets/{p}"))
        .collect();
    let version = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(SW.as_bytes());
        for (_, bytes) in super::assets::files() {
            h.update(bytes);
        }
        h.update(st.settings.tile_url.as_bytes());
        hex::encode(&h.finalize()[..6])
    };
    let prologue = format!(
        "const VERSION = {};\nconst ASSETS = {};\nconst TILE_URL = {};\n",
        json!(version),
        json!(assets),
        json!(st.settings.tile_url)
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            // A worker is checked for updates at each navigation; never a stale copy.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                HeaderValue::from_static("/"),
            ),
        ],
        format!("{prologue}{SW}"),
    )
        .into_response()
}

// ---------------------------------------------------------------- the outbox page

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    ctx: Ctx,
    /// The tile template and the bounding box of the worker's grids (w,s,e,n), when tiles are
    /// configured and the account has grids: the page offers to keep those tiles.
    tile_url: String,
    bbox: String,
}

async fn outbox(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !ctx.is_staff() {
            return Err(super::ctx::WebError::Forbidden);
        }
        let mut bbox = String::new();
        if !st.settings.tile_url.is_empty() && !user.grids.is_empty() {
            let shapes = super::geo::shapes(&st).await?;
            let mut b: Option<[f64; 4]> = None;
            for s in shapes.levels[3]
                .iter()
                .filter(|s| user.grids.contains(&s.code))
            {
                b = Some(match b {
                    None => s.bbox,
                    Some(o) => [
                        o[0].min(s.bbox[0]),
                        o[1].min(s.bbox[1]),
                        o[2].max(s.bbox[2]),
                        o[3].max(s.bbox[3]),
                    ],
                });
            }
            if let Some(b) = b {
                bbox = format!("{:.6},{:.6},{:.6},{:.6}", b[0], b[1], b[2], b[3]);
            }
        }
        let page = OutboxPage {
            tile_url: if bbox.is_empty() {
                String::new()
            } else {
                st.settings.tile_url.clone()
            },
            bbox,
            ctx: ctx.clone(),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        .route("/icons/app-192.png", get(icon_192))
        .route("/icons/app-512.png", get(icon_512))
        .route("/sw.js", get(service_worker))
        .route("/work/outbox", get(outbox))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icons_are_pngs_of_their_size() {
        for (bytes, size) in [(ICON_192.as_slice(), 192), (ICON_512.as_slice(), 512)] {
            let img = image::load_from_memory(bytes).unwrap();
            assert_eq!((img.width(), img.height()), (size, size));
        }
    }
}
