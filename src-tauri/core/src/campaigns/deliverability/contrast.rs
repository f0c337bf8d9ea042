//! Colours and their contrast, as WCAG 2 defines it: the ratio of the relative luminances of
//! the text and its background, from 1:1 to 21:1. Normal text needs 4.5:1, large text (24px,
//! or 18.66px bold) 3:1 (level AA).
//!
//! Invariants: pure; a colour that cannot be read is `None` (the check then skips it rather
//! than guessing); a half-transparent colour is blended on what is behind it.

/// An opaque colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

pub const BLACK: Rgb = Rgb(0, 0, 0);
pub const WHITE: Rgb = Rgb(255, 255, 255);

/// A colour as written in CSS, with its opacity (1.0 = opaque, 0.0 = transparent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    pub rgb: Rgb,
    pub alpha: f64,
}

impl Rgb {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG 2).
    pub fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }
}

/// The contrast ratio of two colours (1 to 21, whichever order).
pub fn ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The least ratio WCAG AA accepts for text of that size.
pub fn minimum(large: bool) -> f64 {
    if large {
        3.0
    } else {
        4.5
    }
}

/// Large text for WCAG: at least 24px, or 18.66px in bold.
pub fn is_large(size_px: f32, bold: bool) -> bool {
    size_px >= 24.0 || (bold && size_px >= 18.66)
}

/// `colour` seen on `behind`.
pub fn blend(colour: Colour, behind: Rgb) -> Rgb {
    let a = colour.alpha.clamp(0.0, 1.0);
    let mix = |f: u8, b: u8| (a * f64::from(f) + (1.0 - a) * f64::from(b)).round() as u8;
    Rgb(mix(colour.rgb.0, behind.0), mix(colour.rgb.1, behind.1), mix(colour.rgb.2, behind.2))
}

const NAMED: &[(&str, Rgb)] = &[
    ("black", BLACK),
    ("white", WHITE),
    ("red", Rgb(255, 0, 0)),
    ("green", Rgb(0, 128, 0)),
    ("blue", Rgb(0, 0, 255)),
    ("yellow", Rgb(255, 255, 0)),
    ("orange", Rgb(255, 165, 0)),
    ("gray", Rgb(128, 128, 128)),
    ("grey", Rgb(128, 128, 128)),
    ("silver", Rgb(192, 192, 192)),
    ("lightgray", Rgb(211, 211, 211)),
    ("lightgrey", Rgb(211, 211, 211)),
    ("darkgray", Rgb(169, 169, 169)),
    ("darkgrey", Rgb(169, 169, 169)),
    ("navy", Rgb(0, 0, 128)),
    ("maroon", Rgb(128, 0, 0)),
    ("purple", Rgb(128, 0, 128)),
    ("teal", Rgb(0, 128, 128)),
    ("olive", Rgb(128, 128, 0)),
    ("pink", Rgb(255, 192, 203)),
    ("beige", Rgb(245, 245, 220)),
    ("ivory", Rgb(255, 255, 240)),
    ("whitesmoke", Rgb(245, 245, 245)),
];

/// A CSS colour: `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(…)`, `rgba(…)`, `transparent`, or a
/// common name.
pub fn parse(value: &str) -> Option<Colour> {
    let v = value.trim().trim_end_matches("!important").trim().to_ascii_lowercase();
    let opaque = |rgb| Some(Colour { rgb, alpha: 1.0 });
    if v == "transparent" {
        return Some(Colour { rgb: BLACK, alpha: 0.0 });
    }
    if let Some(hex) = v.strip_prefix('#') {
        let digit = |i: usize, n: usize| u8::from_str_radix(hex.get(i..i + n)?, 16).ok();
        return match hex.len() {
            3 | 4 => {
                let d = |i| digit(i, 1).map(|x| x * 17);
                let alpha = if hex.len() == 4 { f64::from(d(3)?) / 255.0 } else { 1.0 };
                Some(Colour { rgb: Rgb(d(0)?, d(1)?, d(2)?), alpha })
            }
            6 | 8 => {
                let alpha = if hex.len() == 8 { f64::from(digit(6, 2)?) / 255.0 } else { 1.0 };
                Some(Colour { rgb: Rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?), alpha })
            }
            _ => None,
        };
    }
    if let Some(args) = v.strip_prefix("rgba(").or_else(|| v.strip_prefix("rgb(")).and_then(|s| s.strip_suffix(')')) {
        let parts: Vec<&str> = args.split([',', ' ', '/']).map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.len() != 3 && parts.len() != 4 {
            return None;
        }
        let channel = |p: &str| -> Option<u8> {
            match p.strip_suffix('%') {
                Some(pc) => pc.parse::<f64>().ok().map(|x| (x.clamp(0.0, 100.0) * 2.55).round() as u8),
                None => p.parse::<f64>().ok().map(|x| x.clamp(0.0, 255.0).round() as u8),
            }
        };
        let alpha = match parts.get(3) {
            None => 1.0,
            Some(a) => match a.strip_suffix('%') {
                Some(pc) => pc.parse::<f64>().ok()? / 100.0,
                None => a.parse::<f64>().ok()?,
            },
        };
        return Some(Colour { rgb: Rgb(channel(parts[0])?, channel(parts[1])?, channel(parts[2])?), alpha });
    }
    NAMED.iter().find(|(n, _)| *n == v).and_then(|(_, rgb)| opaque(*rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_wcag_ratios() {
        let table = [
            (BLACK, WHITE, 21.0, "black on white is the maximum"),
            (WHITE, WHITE, 1.0, "a colour on itself is the minimum"),
            (Rgb(0x76, 0x76, 0x76), WHITE, 4.54, "#767676 is the lightest grey that passes on white"),
            (Rgb(0x77, 0x77, 0x77), WHITE, 4.48, "#777777 fails on white"),
            (Rgb(0x22, 0x22, 0x22), Rgb(0xf4, 0xf1, 0xec), 14.12, "the template's text on its page background"),
        ];
        for (a, b, want, why) in table {
            let got = ratio(a, b);
            assert!((got - want).abs() < 0.05, "{why}: {got:.2} ≠ {want}");
            assert!((ratio(b, a) - got).abs() < 1e-9, "the order does not matter");
        }
    }

    #[test]
    fn css_colours_are_read() {
        let table: [(&str, Option<(Rgb, f64)>); 10] = [
            ("#2f5d50", Some((Rgb(0x2f, 0x5d, 0x50), 1.0))),
            ("#FFF", Some((WHITE, 1.0))),
            ("#ffffff80", Some((WHITE, 128.0 / 255.0))),
            ("rgb(34, 34, 34)", Some((Rgb(34, 34, 34), 1.0))),
            ("rgba(0,0,0,0.5)", Some((BLACK, 0.5))),
            ("rgb(100% 0% 0% / 50%)", Some((Rgb(255, 0, 0), 0.5))),
            ("White !important", Some((WHITE, 1.0))),
            ("transparent", Some((BLACK, 0.0))),
            ("#12", None),
            ("var(--brand)", None),
        ];
        for (css, want) in table {
            assert_eq!(parse(css).map(|c| (c.rgb, c.alpha)), want, "{css}");
        }
    }

    #[test]
    fn half_transparent_text_is_seen_on_its_background() {
        let grey = blend(Colour { rgb: BLACK, alpha: 0.5 }, WHITE);
        assert_eq!(grey, Rgb(128, 128, 128), "half black on white is mid grey");
        assert_eq!(blend(Colour { rgb: BLACK, alpha: 0.0 }, WHITE), WHITE, "transparent shows what is behind");
    }

    #[test]
    fn large_text_needs_less_contrast() {
        assert!(is_large(24.0, false) && is_large(19.0, true) && !is_large(18.0, true) && !is_large(16.0, false));
        assert_eq!(minimum(true), 3.0);
        assert_eq!(minimum(false), 4.5);
    }
}
