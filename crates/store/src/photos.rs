//! Case photos (现场照片): already re-encoded by the caller, stored with a thumbnail, listed per case.

use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, with_pool};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A photo to store; `image` and `thumb` are re-encoded JPEG bytes (no metadata).
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub id: Uuid,
    pub county_code: String,
    pub case_id: Uuid,
    pub action: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub image: Vec<u8>,
    pub thumb: Vec<u8>,
    pub uploaded_by: Option<Uuid>,
}

/// A stored photo's description (no bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoInfo {
    pub id: Uuid,
    pub case_id: Uuid,
    pub county_code: String,
    pub action: String,
    pub width: i32,
    pub height: i32,
    pub created_at: DateTime<Utc>,
}

type InfoRow = (Uuid, Uuid, String, String, i32, i32, i64);
type BytesRow = (Uuid, Uuid, String, String, i32, i32, i64, Vec<u8>);

fn info((id, case_id, county_code, action, width, height, at): InfoRow) -> PhotoInfo {
    PhotoInfo {
        id,
        case_id,
        county_code,
        action,
        width,
        height,
        created_at: from_ms(at),
    }
}

impl Store {
    /// Stores photos of one case in one transaction (all or none).
    pub async fn insert_photos(&self, photos: &[NewPhoto], now: DateTime<Utc>) -> Result<()> {
        if photos.is_empty() {
            return Ok(());
        }
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for ph in photos {
                sqlx::query(
                    "INSERT INTO case_photos (county_code, id, case_id, action, content_type, width, height, image, thumb, uploaded_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                    .bind(&ph.county_code).bind(ph.id).bind(ph.case_id).bind(&ph.action)
                    .bind(&ph.content_type).bind(ph.width).bind(ph.height)
                    .bind(&ph.image).bind(&ph.thumb).bind(ph.uploaded_by).bind(to_ms(now))
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Photos of a case, oldest first.
    pub async fn photos(&self, county_code: &str, case_id: Uuid) -> Result<Vec<PhotoInfo>> {
        let rows: Vec<InfoRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, case_id, county_code, action, width, height, created_at FROM case_photos
             WHERE county_code = $1 AND case_id = $2 ORDER BY created_at, id")
            .bind(county_code).bind(case_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(info).collect())
    }

    /// One photo's description and bytes (`thumb` picks the thumbnail).
    pub async fn photo(&self, id: Uuid, thumb: bool) -> Result<(PhotoInfo, Vec<u8>)> {
        let sql = if thumb {
            "SELECT id, case_id, county_code, action, width, height, created_at, thumb FROM case_photos WHERE id = $1"
        } else {
            "SELECT id, case_id, county_code, action, width, height, created_at, image FROM case_photos WHERE id = $1"
        };
        let row: Option<BytesRow> =
            with_pool!(self, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        let (a, b, c, d, e, f, g, bytes) = row.ok_or(StoreError::NotFound)?;
        Ok((info((a, b, c, d, e, f, g)), bytes))
    }
}
