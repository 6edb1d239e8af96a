//! Time-based one-time passwords (TOTP, RFC 6238; 动态口令), the second factor 等保 2.0 asks of
//! administrators: six digits from HMAC-SHA-1 over the count of 30-second steps since 1970, as
//! every authenticator app computes them. Pure: the secret, the clock and the last step used come
//! from the caller.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now still accepted (a phone's clock a little off).
pub const WINDOW: i64 = 1;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding: how authenticator apps take a secret typed in or scanned.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes base32 (case, spaces and padding ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET
            .iter()
            .position(|a| char::from(*a) == c.to_ascii_uppercase())? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The code of one step (HOTP, RFC 4226, truncated to `DIGITS`).
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    // An HMAC takes a key of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step a Unix time (seconds) falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP)
}

/// Checks `code` against the steps around `unix_seconds`; returns the step it matched so the
/// caller can refuse it next time (a code is good once). A step at or before `last_used` is
/// refused: a code seen over someone's shoulder cannot be replayed.
pub fn verify(secret: &[u8], code: &str, unix_seconds: i64, last_used: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_seconds);
    (now - WINDOW..=now + WINDOW)
        .filter(|s| last_used.is_none_or(|l| *s > l))
        .find(|s| constant_time_eq(code_at_step(secret, *s).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) to add the account.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last six here).
    #[test]
    fn rfc_6238_test_vectors() {
        let key = b"12345678901234567890";
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at_step(key, step_of(t)), eight[2..], "t = {t}");
        }
    }

    /// RFC 4648 section 10.
    #[test]
    fn base32_round_trips_the_rfc_vectors() {
        for (raw, b32) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), b32);
            assert_eq!(base32_decode(b32).unwrap(), raw.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZ1"), None);
    }

    #[test]
    fn a_code_is_good_once_and_within_one_step() {
        let key = b"12345678901234567890";
        let t = 1_111_111_111;
        let code = code_at_step(key, step_of(t));
        assert_eq!(verify(key, &code, t, None), Some(step_of(t)));
        assert_eq!(verify(key, &code, t + 30, None), Some(step_of(t)));
        assert_eq!(verify(key, &code, t + 90, None), None);
        // Used once: the same step is refused.
        assert_eq!(verify(key, &code, t, Some(step_of(t))), None);
        assert_eq!(verify(key, "12345", t, None), None);
        assert_eq!(verify(key, "abcdef", t, None), None);
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let u = otpauth_uri("平安网格", "admin", "MZXW6");
        assert!(u.starts_with("otpauth://totp/%E5%B9%B3"), "{u}");
        assert!(u.contains(":admin?secret=MZXW6&issuer=%E5"), "{u}");
    }
}
