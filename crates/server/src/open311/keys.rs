//! api_keys of Open311 client applications: issued by the CLI (`safegrid token create --open311
//! NAME`), shown once, stored as a SHA-256 hash like every other machine token, revocable; sent
//! as the `api_key` parameter or as `Authorization: Bearer`. Each key has its own rate limit.

use super::{Fail, Params};
use crate::app::auth::hash_secret;
use crate::app::state::SharedState;
use axum::http::{HeaderMap, header};
use safegrid_store::{Open311Client, StoreError};

/// The key sent with a request: the `api_key` parameter, else a bearer token.
fn presented(p: &Params, headers: &HeaderMap) -> Option<String> {
    if let Some(k) = p.get("api_key") {
        return Some(k.to_string());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// The client application behind the request's key, within its rate limit. Missing, unknown and
/// revoked keys answer 403 (Open311's code for a bad api_key), an exhausted limit 429.
pub async fn authenticate(
    st: &SharedState,
    p: &Params,
    headers: &HeaderMap,
) -> Result<Open311Client, Fail> {
    let Some(key) = presented(p, headers) else {
        return Err(Fail::forbidden(
            "api_key: is required to write (the api_key parameter or Authorization: Bearer)",
        ));
    };
    let hash = hash_secret(&key);
    // Remembered for a second (`app/tokens.rs`): an app files reports one request after another.
    let client = match st.open311_keys.get(&hash) {
        Ok(c) => c,
        Err(generation) => match st.store.open311_client_by_key(&hash).await {
            Ok(c) => {
                st.open311_keys.put(&hash, &c, generation);
                c
            }
            Err(StoreError::NotFound) => return Err(Fail::forbidden("api_key: is not valid")),
            Err(e) => return Err(e.into()),
        },
    };
    if client.revoked_at.is_some() {
        return Err(Fail::forbidden("api_key: has been revoked"));
    }
    st.limiter
        .check(
            &format!("open311:key:{hash}"),
            st.settings.rate_limits.open311_key,
        )
        .map_err(|w| Fail::too_many(w.0))?;
    Ok(client)
}
