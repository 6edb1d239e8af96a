//! Personal identifiers in free text (个人信息脱敏): residents and staff type ID numbers, phone
//! numbers and names into descriptions, notes and agreements. `mask_free_text` finds them and
//! masks them the way the structured fields are masked (`Phone::masked`, `PersonName::masked`,
//! `dispute::mask_id`), so text can be shown to viewers who may not see the structured fields.
//!
//! Detected:
//! - 18-digit resident ID numbers (GB 11643: 17 digits and a check digit or `X`), only when the
//!   check digit is right, contiguous or grouped 6-8-4;
//! - mobile numbers (11 digits, `1[3-9]…`), with an optional `+86`, `0086` or `86` prefix, typed
//!   contiguous or grouped 3-4-4 with spaces or hyphens;
//! - landlines: an area code (`010`, `02x`, `0[3-9]xx`), optionally in parentheses, and 7–8 digits
//!   not starting with 0, with or without a hyphen or space between;
//! - the given names (a case's reporter, a dispute's person parties) wherever they occur.
//!
//! Full-width digits and signs (`１３８`, `＋`, `－`, `（）`, the ideographic space) count as
//! their ASCII forms. A number must not be glued to further digits, so case numbers (19 digits),
//! grid codes (15), region codes (12), dates and amounts are left alone.

use crate::codes::{PersonName, Phone};
use crate::dispute::mask_id;
use std::borrow::Cow;

/// GB 11643 weights of the first 17 digits, and the check character for each sum mod 11.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// Whether `id` (18 ASCII characters) carries the right GB 11643 check character.
pub fn id_check_digit_ok(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

/// A character as the matcher reads it: full-width forms folded to ASCII, separators to ' '.
fn fold(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '＋' => '+',
        'Ｘ' | 'ｘ' | 'x' => 'X',
        '（' => '(',
        '）' => ')',
        '-' | '－' | '‐' | '‑' | '–' | '—' | ' ' | '\u{3000}' | '\u{a0}' => ' ',
        _ => c,
    }
}

struct Matcher<'a> {
    c: &'a [char],
}

impl Matcher<'_> {
    fn digit(&self, i: usize) -> Option<u8> {
        self.c
            .get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|&c| c as u8)
    }

    /// Exactly `n` digits from `i`, appended to `out`; the position after them.
    fn digits(&self, mut i: usize, n: usize, out: &mut String) -> Option<usize> {
        for _ in 0..n {
            out.push(char::from(self.digit(i)?));
            i += 1;
        }
        Some(i)
    }

    /// Skips one or two separators (space or hyphen, any width).
    fn sep(&self, mut i: usize) -> usize {
        for _ in 0..2 {
            if self.c.get(i) == Some(&' ') {
                i += 1;
            }
        }
        i
    }

    /// A number ends where no further digit follows.
    fn ends(&self, i: usize) -> bool {
        self.digit(i).is_none()
    }

    /// Digits in groups of the given sizes, each group optionally preceded by separators.
    fn groups(&self, mut i: usize, sizes: &[usize], out: &mut String) -> Option<usize> {
        for (k, &n) in sizes.iter().enumerate() {
            if k > 0 {
                i = self.sep(i);
            }
            i = self.digits(i, n, out)?;
        }
        Some(i)
    }

    fn id_number(&self, i: usize) -> Option<(usize, String)> {
        for sizes in [&[17][..], &[6, 8, 3]] {
            let mut id = String::new();
            let Some(j) = self.groups(i, sizes, &mut id) else {
                continue;
            };
            let last = match self.c.get(j) {
                Some(&c) if c.is_ascii_digit() || c == 'X' => c,
                _ => continue,
            };
            id.push(last);
            let end = j + 1;
            if self.ends(end)
                && !self.c.get(end).is_some_and(char::is_ascii_alphanumeric)
                && id_check_digit_ok(&id)
            {
                return Some((end, mask_id(&id)));
            }
        }
        None
    }

    fn mobile(&self, i: usize) -> Option<(usize, String)> {
        let mut starts = vec![i];
        for prefix in ["+86", "0086", "86"] {
            let n = prefix.chars().count();
            if self
                .c
                .get(i..i + n)
                .is_some_and(|s| s.iter().copied().eq(prefix.chars()))
            {
                starts.push(self.sep(i + n));
                // "+86 (138)…" is rare; "+86-138…" and "+86 138…" are covered by `sep`.
            }
        }
        for s in starts {
            if self.c.get(s) != Some(&'1')
                || !self.c.get(s + 1).is_some_and(|c| ('3'..='9').contains(c))
            {
                continue;
            }
            let mut d = String::new();
            if let Some(end) = self.groups(s, &[3, 4, 4], &mut d).filter(|&e| self.ends(e)) {
                return Phone::parse(&d).ok().map(|p| (end, p.masked()));
            }
        }
        None
    }

    fn landline(&self, i: usize) -> Option<(usize, String)> {
        let paren = self.c.get(i) == Some(&'(');
        let s = i + usize::from(paren);
        if self.digit(s) != Some(b'0') {
            return None;
        }
        let area_len = match (self.digit(s + 1), self.digit(s + 2)) {
            (Some(b'1'), Some(b'0')) | (Some(b'2'), Some(_)) => 3,
            (Some(b'3'..=b'9'), Some(_)) => 4,
            _ => return None,
        };
        let mut area = String::new();
        let mut j = self.digits(s, area_len, &mut area)?;
        if paren {
            if self.c.get(j) != Some(&')') {
                return None;
            }
            j += 1;
        }
        j = self.sep(j);
        // Local numbers starting with 1 are not dialled (a strict `Phone` refuses them), but
        // people type them, in examples too: masked all the same.
        if matches!(self.digit(j), None | Some(b'0')) {
            return None;
        }
        for sizes in [&[8][..], &[7], &[4, 4], &[3, 4]] {
            let mut local = String::new();
            if let Some(end) = self.groups(j, sizes, &mut local).filter(|&e| self.ends(e)) {
                // As `Phone::masked` shows a landline: the area code and the last 4 digits.
                let hidden = "*".repeat(local.len() - 4);
                return Some((end, format!("{area}-{hidden}{}", &local[local.len() - 4..])));
            }
        }
        None
    }
}

/// `text` with every resident ID number, mobile and landline number, and every given name
/// masked; borrowed unchanged when there is nothing to mask. Names shorter than two characters
/// are not looked for (a one-character name would hide that character everywhere).
pub fn mask_free_text<'a>(text: &'a str, names: &[&str]) -> Cow<'a, str> {
    let orig: Vec<char> = text.chars().collect();
    let folded: Vec<char> = orig.iter().copied().map(fold).collect();
    let m = Matcher { c: &folded };
    let mut out = String::new();
    let mut changed = false;
    let mut i = 0;
    while i < folded.len() {
        let c = folded[i];
        let starts_number = c.is_ascii_digit() || c == '+' || c == '(';
        let glued = i > 0 && folded[i - 1].is_ascii_digit();
        if starts_number
            && !glued
            && let Some((end, masked)) = m
                .id_number(i)
                .or_else(|| m.mobile(i))
                .or_else(|| m.landline(i))
        {
            out.push_str(&masked);
            changed = true;
            i = end;
            continue;
        }
        // Not a match here: skip the rest of this run of digits, so that no match starts inside
        // a longer number.
        out.push(orig[i]);
        i += 1;
        if c.is_ascii_digit() {
            while i < folded.len() && folded[i].is_ascii_digit() {
                out.push(orig[i]);
                i += 1;
            }
        }
    }
    let mut names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| n.chars().count() >= 2)
        .collect();
    // Longer names first, so that a name containing another is masked whole.
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    for name in names {
        let current: &str = if changed { &out } else { text };
        if current.contains(name) {
            let masked = PersonName::parse(name)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "*".repeat(name.chars().count()));
            out = current.replace(name, &masked);
            changed = true;
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Text dense in digits, separators and signs: masking never panics, and masked text has
        /// nothing left to mask.
        #[test]
        fn masking_any_text_is_total_and_idempotent(s in "[0-9０-９ +()（）xX\\-－张三号*]{0,40}") {
            let once = mask_free_text(&s, &["张三"]).into_owned();
            prop_assert_eq!(mask_free_text(&once, &["张三"]).into_owned(), once);
        }
    }

    fn m(s: &str) -> String {
        mask_free_text(s, &[]).into_owned()
    }

    /// A valid ID number ending in X (the check digit computed, not guessed).
    const ID_X: &str = "11010519491231002X";

    #[test]
    fn the_check_digit_is_gb_11643() {
        assert!(id_check_digit_ok(ID_X));
        assert!(id_check_digit_ok("11010519491231002x"));
        assert!(id_check_digit_ok("330521199001011235"));
        assert!(!id_check_digit_ok("330521199001011234"));
        assert!(!id_check_digit_ok("11010519491231002"));
    }

    #[test]
    fn id_numbers_are_masked_in_every_typed_form() {
        for (text, want) in [
            (ID_X, "110*************2X"),
            ("身份证11010519491231002x号", "身份证110*************2X号"),
            (
                "证号：１１０１０５１９４９１２３１００２Ｘ。",
                "证号：110*************2X。",
            ),
            ("110105 19491231 002X", "110*************2X"),
            ("330521199001011235", "330*************35"),
        ] {
            assert_eq!(m(text), want, "{text}");
        }
        // A wrong check digit is some other number, and stays.
        assert_eq!(m("330521199001011234"), "330521199001011234");
    }

    #[test]
    fn mobiles_are_masked_in_every_typed_form() {
        for text in [
            "13812345678",
            "138-1234-5678",
            "138 1234 5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "0086 13812345678",
            "8613812345678",
            "+86-138-1234-5678",
            "１３８１２３４５６７８",
            "１３８－１２３４－５６７８",
            "＋８６ １３８ １２３４ ５６７８",
            "138\u{3000}1234\u{3000}5678",
        ] {
            assert_eq!(m(text), "138****5678", "{text}");
        }
        assert_eq!(
            m("请联系张先生13812345678谢谢"),
            "请联系张先生138****5678谢谢"
        );
        assert_eq!(m("电话:19912345678。"), "电话:199****5678。");
    }

    #[test]
    fn landlines_are_masked() {
        for (text, want) in [
            ("0572-1234567", "0572-***4567"),
            ("(0572)1234567", "0572-***4567"),
            ("（0572）1234567", "0572-***4567"),
            ("0572 1234567", "0572-***4567"),
            ("05721234567", "0572-***4567"),
            ("010-87654321", "010-****4321"),
            ("0572-2345678", "0572-***5678"),
            ("021 8765 4321", "021-****4321"),
            ("座机０５７２－２３４５６７８", "座机0572-***5678"),
        ] {
            assert_eq!(m(text), want, "{text}");
        }
    }

    #[test]
    fn ordinary_numbers_stay() {
        for text in [
            "案件 3305022026112100042 已受理",
            "网格 330521100001001",
            "区划330521100000",
            "2026-12-07 09:30 发生",
            "20261207",
            "金额 12345678 元",
            "金额13812345678900元",
            "门牌 138 号，3 栋 1201 室",
            "0572",
            "010-1234",
            "0572-0123456",
            "12812345678",
            "1381234567",
            "2013812345678",
            "3.1415926",
        ] {
            assert_eq!(mask_free_text(text, &[]), Cow::Borrowed(text), "{text}");
        }
    }

    #[test]
    fn names_are_masked_wherever_they_occur() {
        let t = "张三说李四欠他钱，张三的电话13812345678";
        assert_eq!(
            mask_free_text(t, &["张三", "李四"]),
            "张*说李*欠他钱，张*的电话138****5678"
        );
        assert_eq!(mask_free_text("欧阳娜娜来了", &["欧阳娜娜"]), "欧阳**来了");
        // Longer names first: the one containing the other is masked whole.
        assert_eq!(
            mask_free_text("王小明和王小", &["王小", "王小明"]),
            "王**和王*"
        );
        // One-character names and empty names are not looked for.
        assert_eq!(
            mask_free_text("李先生", &["李", " "]),
            Cow::Borrowed("李先生")
        );
    }

    #[test]
    fn borrowed_when_nothing_to_mask() {
        assert!(matches!(
            mask_free_text("井盖破损", &["张三"]),
            Cow::Borrowed(_)
        ));
        assert!(matches!(mask_free_text("", &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn masking_is_idempotent_and_never_panics_on_odd_text() {
        for text in [
            "+",
            "(",
            "（0",
            "+86",
            "0086 1",
            "１",
            "138 ",
            "(010)",
            "X",
            "🙂13812345678🙂",
        ] {
            let once = m(text);
            assert_eq!(m(&once), once, "{text}");
        }
        assert_eq!(m("🙂13812345678🙂"), "🙂138****5678🙂");
    }
}
