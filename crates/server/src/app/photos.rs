//! Photo uploads checked and re-encoded for storage (现场照片), for every face and use case (case
//! photos on the pages, inspection photos of campaigns): JPEG, PNG or WebP by their magic bytes,
//! at most [`MAX_PHOTO_BYTES`], the header read without decoding for dimensions within
//! [`MAX_INPUT_SIDE`] and [`MAX_PIXELS`] and a decoded size within [`MAX_DECODED_BYTES`] (a small
//! file may declare a huge image), decoded under the same [`image::Limits`] and at most
//! [`DECODES_AT_ONCE`] at a time, and re-encoded as JPEG — which drops EXIF and any GPS position
//! the phone wrote — at most [`MAX_SIDE`] px, with a [`THUMB_SIDE`] px thumbnail.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PHOTOS: usize = 4;
pub const MAX_SIDE: u32 = 1600;
pub const THUMB_SIDE: u32 = 320;
/// Larger images are refused from their header, before decoding (a decompression bomb guard):
/// a phone's 50-megapixel photo (8160×6120) passes.
pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_INPUT_SIDE: u32 = 12_000;
/// The most memory one decoded image may take: 8-bit RGB at 50 megapixels fits; a 16-bit
/// 7000×7000 PNG of a few hundred KB (392 MB decoded) does not.
pub const MAX_DECODED_BYTES: u64 = 160 * 1024 * 1024;
/// Decodes running at once across the server (each within [`MAX_DECODED_BYTES`]), so
/// concurrent uploads cannot add up to more than a few hundred MB.
pub const DECODES_AT_ONCE: usize = 2;
static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODES_AT_ONCE);

/// A checked, re-encoded photo ready to store.
#[derive(Debug, Clone)]
pub struct Upload {
    pub image: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PhotoError {
    TooLarge,
    WrongType,
    Unreadable,
    TooManyPixels,
}

/// The format by magic bytes; the file name and the browser's content type are not trusted.
pub fn sniff(b: &[u8]) -> Option<ImageFormat> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

pub(crate) fn jpeg(img: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut out = Cursor::new(Vec::new());
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
    rgb.write_with_encoder(enc)
        .map_err(|_| PhotoError::Unreadable)?;
    Ok(out.into_inner())
}

/// What decoding may use: the dimensions and memory the header check allows.
fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_INPUT_SIDE);
    l.max_image_height = Some(MAX_INPUT_SIDE);
    l.max_alloc = Some(MAX_DECODED_BYTES);
    l
}

/// Checks an upload from its bytes and header alone (no pixel decoded): size, type by magic
/// bytes, dimensions and the memory decoding would take.
pub fn check_header(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let format = sniff(bytes).ok_or(PhotoError::WrongType)?;
    // Without limits here: a header over them is told apart from a damaged file.
    let decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|_| PhotoError::Unreadable)?;
    let (w, h) = decoder.dimensions();
    if w > MAX_INPUT_SIDE
        || h > MAX_INPUT_SIDE
        || u64::from(w) * u64::from(h) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODED_BYTES
    {
        return Err(PhotoError::TooManyPixels);
    }
    Ok(format)
}

/// [`process`] on a blocking thread, at most [`DECODES_AT_ONCE`] at a time; the header check
/// runs first, outside that bound, so a refused file never waits for (or holds) a slot.
pub async fn process_bounded(
    bytes: Vec<u8>,
) -> Result<Result<Upload, PhotoError>, tokio::task::JoinError> {
    if let Err(e) = check_header(&bytes) {
        return Ok(Err(e));
    }
    let slot = DECODES
        .acquire()
        .await
        .expect("the semaphore is never closed");
    // The slot goes with the decode: a request that times out stops waiting, but its decode runs
    // on to the end and must keep counting against the bound until then.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        process(&bytes)
    })
    .await
}

/// Checks, decodes, strips and resizes one upload (CPU-bound: call it off the async threads).
pub fn process(bytes: &[u8]) -> Result<Upload, PhotoError> {
    let format = check_header(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let refused = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels,
        _ => PhotoError::Unreadable,
    };
    let mut decoder = reader.into_decoder().map_err(refused)?;
    // Phones store a portrait photo as landscape pixels plus an EXIF orientation tag; the tag
    // leaves with the EXIF we drop, so the pixels are turned upright first.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(refused)?;
    img.apply_orientation(orientation);
    // `thumbnail` averages areas straight into the small image; `resize` would first build a
    // floating-point copy as wide as the original (134 MB more for a 7000×7000 photo).
    let img = if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        img
    };
    let thumb = img.thumbnail(THUMB_SIDE, THUMB_SIDE);
    Ok(Upload {
        image: jpeg(&img)?,
        thumb: jpeg(&thumb)?,
        width: img.width(),
        height: img.height(),
    })
}
