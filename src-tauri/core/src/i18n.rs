//! Translation catalogues shared by the core and the interface: `assets/i18n/{fr,en}.json`.
//! French is the first language; a key missing in English falls back to French.

use crate::types::Lang;
use std::collections::HashMap;
use std::sync::OnceLock;

pub type Args = Vec<(&'static str, String)>;

const FR: &str = include_str!("../../../assets/i18n/fr.json");
const EN: &str = include_str!("../../../assets/i18n/en.json");

fn catalogue(lang: Lang) -> &'static HashMap<String, String> {
    static CATS: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    let cats = CATS.get_or_init(|| {
        [
            serde_json::from_str(FR).expect("assets/i18n/fr.json is a flat JSON object"),
            serde_json::from_str(EN).expect("assets/i18n/en.json is a flat JSON object"),
        ]
    });
    match lang {
        Lang::Fr => &cats[0],
        Lang::En => &cats[1],
    }
}

/// Translate `key`, replacing `{name}` placeholders with `args`.
pub fn tr(lang: Lang, key: &str, args: &[(&'static str, String)]) -> String {
    let template = catalogue(lang).get(key).or_else(|| catalogue(Lang::Fr).get(key)).map(String::as_str).unwrap_or(key);
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

pub fn has_key(lang: Lang, key: &str) -> bool {
    catalogue(lang).contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_catalogues_have_the_same_keys() {
        let fr = catalogue(Lang::Fr);
        let en = catalogue(Lang::En);
        let missing_en: Vec<_> = fr.keys().filter(|k| !en.contains_key(*k)).collect();
        let missing_fr: Vec<_> = en.keys().filter(|k| !fr.contains_key(*k)).collect();
        assert!(missing_en.is_empty(), "keys missing in en.json: {missing_en:?}");
        assert!(missing_fr.is_empty(), "keys missing in fr.json: {missing_fr:?}");
    }

    #[test]
    fn placeholders_are_filled() {
        let s = tr(Lang::Fr, "error.newer_database", &[("found", "9".into()), ("supported", "1".into())]);
        assert!(s.contains('9') && s.contains('1') && !s.contains('{'), "placeholders replaced: {s}");
    }

    /// Every catalogue key named as a string literal in the core's sources exists in both
    /// languages, so no user ever sees a raw key.
    #[test]
    fn every_key_used_by_the_core_is_translated() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                    continue;
                }
                let src = std::fs::read_to_string(&path).unwrap();
                for prefix in
                    ["\"field.", "\"error.", "\"conflict.", "\"timeline.", "\"campaign.", "\"mail.", "\"referral."]
                {
                    for (i, _) in src.match_indices(prefix) {
                        let rest = &src[i + 1..];
                        let end = rest.find('"').unwrap();
                        let key = &rest[..end];
                        if key.ends_with('.') || key.contains('{') {
                            continue; // a prefix built at run time
                        }
                        for lang in [Lang::Fr, Lang::En] {
                            if !has_key(lang, key) {
                                missing.push(format!("{key} ({}) in {}", lang.code(), path.display()));
                            }
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:#?}");
    }
}
