//! Photos (现场照片) of reports, handling and verification. Every upload is checked (JPEG, PNG or
//! WebP by its magic bytes; at most [`MAX_PHOTO_BYTES`]; its header read, without decoding, for
//! dimensions within [`MAX_INPUT_SIDE`] and [`MAX_PIXELS`] and a decoded size within
//! [`MAX_DECODED_BYTES`]: a small file may declare a huge image), decoded under the same
//! [`image::Limits`] and at most [`DECODES_AT_ONCE`] at a time, and re-encoded as JPEG — which
//! drops EXIF and with it any GPS position the phone wrote — resized to at most [`MAX_SIDE`] px,
//! with a [`THUMB_SIDE`] px thumbnail. Stored in the database (`case_photos`).
//!
//! Who sees them: staff who may see the case (`in_scope`), and whoever holds the case's
//! tracking code (the reporter) on the tracking page. The public board shows no photos: a photo
//! may show people or homes.

use super::ctx::{Ctx, WebError, respond};
use super::i18n::Lang;
use crate::app::scope::in_scope;
use crate::app::state::SharedState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use safegrid_domain::engine::Case;
use safegrid_store::{NewPhoto, User};
use uuid::Uuid;

pub use crate::app::photos::*;

impl PhotoError {
    pub fn message(&self, lang: Lang) -> String {
        let key = match self {
            PhotoError::TooLarge => "photo.too_large",
            PhotoError::WrongType => "photo.wrong_type",
            PhotoError::Unreadable => "photo.unreadable",
            PhotoError::TooManyPixels => "photo.too_many_pixels",
        };
        lang.t(key).to_string()
    }
}

/// Stores the photos of one step of a case.
pub async fn store(
    st: &SharedState,
    case: &Case,
    action: &str,
    user: Option<&User>,
    uploads: Vec<Upload>,
) -> Result<(), WebError> {
    let photos: Vec<NewPhoto> = uploads
        .into_iter()
        .map(|u| NewPhoto {
            id: Uuid::now_v7(),
            county_code: case.county_code.clone(),
            case_id: case.id,
            action: action.to_string(),
            content_type: "image/jpeg".into(),
            width: u.width as i32,
            height: u.height as i32,
            image: u.image,
            thumb: u.thumb,
            uploaded_by: user.map(|u| u.id),
        })
        .collect();
    st.store.insert_photos(&photos, Utc::now()).await?;
    Ok(())
}

/// A photo as pages link it.
pub struct PhotoView {
    pub id: String,
    pub action: String,
    pub at: String,
    pub width: i32,
    pub height: i32,
}

pub async fn list(st: &SharedState, case: &Case) -> Result<Vec<PhotoView>, WebError> {
    Ok(st
        .store
        .photos(&case.county_code, case.id)
        .await?
        .into_iter()
        .map(|p| PhotoView {
            id: p.id.to_string(),
            action: p.action,
            at: super::view::show_time(p.created_at),
            width: p.width,
            height: p.height,
        })
        .collect())
}

pub(super) fn jpeg_response(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn parse_name(name: &str) -> Option<(Uuid, bool)> {
    let (id, thumb) = match name.strip_suffix(".thumb.jpg") {
        Some(id) => (id, true),
        None => (name.strip_suffix(".jpg")?, false),
    };
    Some((Uuid::parse_str(id).ok()?, thumb))
}

/// Staff: `/work/photos/{id}.jpg` or `{id}.thumb.jpg`, for cases in the viewer's scope.
async fn staff_photo(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let (id, thumb) = parse_name(&name).ok_or(WebError::NotFound)?;
        let (info, bytes) = st.store.photo(id, thumb).await?;
        let case = st.store.case(info.case_id).await?;
        if !in_scope(user, &case) {
            return Err(WebError::NotFound);
        }
        Ok(jpeg_response(bytes))
    }
    .await;
    respond(&ctx, r)
}

/// The reporter: `/track/{code}/photos/{id}.jpg`, only photos of that code's case.
async fn tracked_photo(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path((code, name)): Path<(String, String)>,
) -> Response {
    let r = async {
        let (id, thumb) = parse_name(&name).ok_or(WebError::NotFound)?;
        let (info, bytes) = st.store.photo(id, thumb).await?;
        let case = st.store.case_by_tracking_code(code.trim()).await?;
        if case.id != info.case_id {
            return Err(WebError::NotFound);
        }
        Ok(jpeg_response(bytes))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/photos/{name}", get(staff_photo))
        .route("/track/{code}/photos/{name}", get(tracked_photo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::photos::jpeg;
    use image::{DynamicImage, ImageFormat};
    use std::io::Cursor;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    /// `jpeg` with an EXIF APP1 segment holding `exif` spliced in after SOI.
    fn with_app1(jpeg: Vec<u8>, mut exif: Vec<u8>) -> Vec<u8> {
        let len = (exif.len() + 2) as u16;
        let mut out = jpeg[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(len.to_be_bytes());
        out.append(&mut exif);
        out.extend(&jpeg[2..]);
        out
    }

    /// A JPEG with an EXIF APP1 segment carrying a GPS tag.
    fn jpeg_with_exif() -> Vec<u8> {
        let plain = jpeg(&DynamicImage::ImageRgb8(image::RgbImage::new(40, 30))).unwrap();
        with_app1(
            plain,
            b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\0GPSLAT30.78".to_vec(),
        )
    }

    #[test]
    fn large_png_is_resized_with_a_thumbnail() {
        let u = process(&png(3200, 1000)).unwrap();
        assert_eq!((u.width, u.height), (1600, 500));
        assert_eq!(sniff(&u.image), Some(ImageFormat::Jpeg));
        let t = image::load_from_memory(&u.thumb).unwrap();
        assert!(t.width() <= THUMB_SIDE && t.height() <= THUMB_SIDE);
    }

    /// A 40×30 JPEG, red in its top-left 12×12 corner, whose EXIF says "rotate 90° clockwise to
    /// show" (orientation 6), as a phone held upright writes it.
    fn jpeg_rotated_by_exif() -> Vec<u8> {
        let mut img = image::RgbImage::from_pixel(40, 30, image::Rgb([255, 255, 255]));
        for x in 0..12 {
            for y in 0..12 {
                img.put_pixel(x, y, image::Rgb([255, 0, 0]));
            }
        }
        // TIFF big-endian, one IFD entry: tag 0x0112 (Orientation), SHORT, count 1, value 6.
        with_app1(
            jpeg(&DynamicImage::ImageRgb8(img)).unwrap(),
            b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec(),
        )
    }

    #[test]
    fn photos_come_back_upright_without_exif() {
        let u = process(&jpeg_rotated_by_exif()).unwrap();
        assert_eq!((u.width, u.height), (30, 40), "portrait after the turn");
        assert!(!u.image.windows(4).any(|w| w == b"Exif"));
        let img = image::load_from_memory(&u.image).unwrap().to_rgb8();
        // Turned clockwise, the top-left corner is now the top-right one.
        let red = |x: u32, y: u32| {
            let p = img.get_pixel(x, y);
            p[0] > 200 && p[1] < 80 && p[2] < 80
        };
        assert!(red(25, 4), "{:?}", img.get_pixel(25, 4));
        assert!(!red(4, 4), "{:?}", img.get_pixel(4, 4));
    }

    #[test]
    fn exif_and_gps_are_dropped() {
        let src = jpeg_with_exif();
        assert!(src.windows(4).any(|w| w == b"Exif"));
        let u = process(&src).unwrap();
        assert!(!u.image.windows(4).any(|w| w == b"Exif"));
        assert!(!u.image.windows(6).any(|w| w == b"GPSLAT"));
    }

    #[test]
    fn wrong_type_and_size_are_refused_with_their_reason() {
        assert_eq!(process(b"GIF89a....").unwrap_err(), PhotoError::WrongType);
        assert_eq!(process(b"%PDF-1.7").unwrap_err(), PhotoError::WrongType);
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(process(&big).unwrap_err(), PhotoError::TooLarge);
        assert_eq!(
            process(&[0xFF, 0xD8, 0xFF, 0, 1, 2]).unwrap_err(),
            PhotoError::Unreadable
        );
        assert!(PhotoError::WrongType.message(Lang::Zh).contains("JPEG"));
    }

    /// A PNG whose header declares `w`×`h` 16-bit RGBA but whose data is a few bytes: a small
    /// file that would decode to `w * h * 8` bytes.
    pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend((data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend(kind);
            out.extend(data);
            let crc = crc32(&out[start..]);
            out.extend(crc.to_be_bytes());
        }
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = 0xFFFF_FFFFu32;
            for &b in bytes {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([16, 6, 0, 0, 0]); // 16 bits, RGBA, deflate, no filter, no interlace
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn huge_dimensions_are_refused_from_the_header() {
        // 7000×7000 16-bit RGBA: 49 megapixels (under the pixel cap) but 392 MB decoded.
        let bomb = png_header_only(7000, 7000);
        assert!(bomb.len() < 100, "{}", bomb.len());
        assert_eq!(check_header(&bomb).unwrap_err(), PhotoError::TooManyPixels);
        assert_eq!(process(&bomb).unwrap_err(), PhotoError::TooManyPixels);
        assert_eq!(
            check_header(&png_header_only(20_000, 10)).unwrap_err(),
            PhotoError::TooManyPixels
        );
        // A header within the limits passes the check (its data is then simply unreadable).
        assert_eq!(
            check_header(&png_header_only(400, 300)).unwrap(),
            ImageFormat::Png
        );
        assert_eq!(
            process(&png_header_only(400, 300)).unwrap_err(),
            PhotoError::Unreadable
        );
        assert!(
            PhotoError::TooManyPixels
                .message(Lang::En)
                .contains("12,000")
        );
    }
}
