//! Translation catalogues shared by the core and the interface: `assets/i18n/{fr,en}/<part>.json`,
//! one part per domain plus `common`, each a flat JSON object key → text. A key lives in exactly
//! one part; French and English have the same parts and keys (tests below; the interface's tests
//! also check that every key is used). French is the first language; a key missing in English
//! falls back to French.

use crate::types::Lang;
use std::collections::HashMap;
use std::sync::OnceLock;

pub type Args = Vec<(&'static str, String)>;

/// One part of the catalogues, embedded: (name, French text, English text).
macro_rules! part {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../assets/i18n/fr/", $name, ".json")),
            include_str!(concat!("../../../assets/i18n/en/", $name, ".json")),
        )
    };
}

/// Every part, in both languages; a test checks that this lists exactly the files of
/// `assets/i18n/fr` and `assets/i18n/en`.
const PARTS: &[(&str, &str, &str)] = &[
    part!("common"),
    part!("customers"),
    part!("till"),
    part!("loyalty"),
    part!("campaigns"),
    part!("mailbox"),
    part!("settings"),
    part!("numbers"),
    part!("referrals"),
    part!("deliverability"),
    part!("data"),
    part!("automations"),
];

/// One language's parts, parsed: (part name, key → text).
fn parts(lang: Lang) -> Vec<(&'static str, HashMap<String, String>)> {
    PARTS
        .iter()
        .map(|(name, fr, en)| {
            let text = match lang {
                Lang::Fr => fr,
                Lang::En => en,
            };
            let map = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("assets/i18n/{}/{name}.json is a flat JSON object: {e}", lang.code()));
            (*name, map)
        })
        .collect()
}

fn catalogue(lang: Lang) -> &'static HashMap<String, String> {
    static CATS: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    let cats = CATS.get_or_init(|| {
        let merged = |lang: Lang| -> HashMap<String, String> { parts(lang).into_iter().flat_map(|(_, m)| m).collect() };
        [merged(Lang::Fr), merged(Lang::En)]
    });
    match lang {
        Lang::Fr => &cats[0],
        Lang::En => &cats[1],
    }
}

/// Translate `key`, replacing `{name}` placeholders with `args`, and `{name|one|other}` with
/// the form that agrees with the number `name` holds (`plural_one`).
pub fn tr(lang: Lang, key: &str, args: &[(&'static str, String)]) -> String {
    let template = catalogue(lang).get(key).or_else(|| catalogue(Lang::Fr).get(key)).map(String::as_str).unwrap_or(key);
    let mut out = choose_plurals(lang, template, args);
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Rule: French says "0 client", "1 client", "2 clients" (one below 2); English says
/// "1 customer", "0 customers" (one for exactly 1). `value` may be formatted ("1 234", "1,5").
pub fn plural_one(lang: Lang, value: &str) -> bool {
    let bare: String = value.chars().filter(|c| !c.is_whitespace() && *c != '\u{202f}').collect();
    let bare = match lang {
        Lang::Fr => bare.replace('.', "").replace(',', "."),
        Lang::En => bare.replace(',', ""),
    };
    match bare.parse::<f64>() {
        Ok(n) => match lang {
            Lang::Fr => n.abs() < 2.0,
            Lang::En => n == 1.0,
        },
        Err(_) => false,
    }
}

fn choose_plurals(lang: Lang, template: &str, args: &[(&'static str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            // An opened brace never closed: the rest as it is.
            out.push_str(after);
            return out;
        };
        let inner = &after[1..close];
        let mut pieces = inner.split('|');
        let (name, one, other) = (pieces.next(), pieces.next(), pieces.next());
        match (name, one, other, pieces.next()) {
            (Some(name), Some(one), Some(other), None) if !inner.contains('{') => {
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(if plural_one(lang, v) { one } else { other }),
                    None => out.push_str(&after[..=close]),
                }
            }
            _ => out.push_str(&after[..=close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

pub fn has_key(lang: Lang, key: &str) -> bool {
    catalogue(lang).contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn folder(lang: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/i18n").join(lang)
    }

    #[test]
    fn the_embedded_parts_are_exactly_the_files_of_both_folders() {
        let listed: BTreeSet<String> = PARTS.iter().map(|(name, _, _)| name.to_string()).collect();
        assert_eq!(listed.len(), PARTS.len(), "a part is listed twice in PARTS");
        for lang in ["fr", "en"] {
            let files: BTreeSet<String> = std::fs::read_dir(folder(lang))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            assert_eq!(listed, files, "PARTS in i18n.rs and the files of assets/i18n/{lang}");
        }
    }

    #[test]
    fn no_key_is_in_two_parts() {
        for lang in [Lang::Fr, Lang::En] {
            let mut seen: HashMap<String, &str> = HashMap::new();
            let mut twice = Vec::new();
            for (name, map) in parts(lang) {
                for key in map.into_keys() {
                    if let Some(first) = seen.get(&key) {
                        twice.push(format!("{key} ({}: {first} and {name})", lang.code()));
                    } else {
                        seen.insert(key, name);
                    }
                }
            }
            assert!(twice.is_empty(), "keys in two parts: {twice:#?}");
        }
    }

    #[test]
    fn french_and_english_have_the_same_parts_and_keys() {
        for ((name, fr), (_, en)) in parts(Lang::Fr).into_iter().zip(parts(Lang::En)) {
            let missing_en: Vec<_> = fr.keys().filter(|k| !en.contains_key(*k)).collect();
            let missing_fr: Vec<_> = en.keys().filter(|k| !fr.contains_key(*k)).collect();
            assert!(missing_en.is_empty(), "keys missing in en/{name}.json: {missing_en:?}");
            assert!(missing_fr.is_empty(), "keys missing in fr/{name}.json: {missing_fr:?}");
        }
    }

    #[test]
    fn french_and_english_catalogues_have_the_same_keys() {
        let fr = catalogue(Lang::Fr);
        let en = catalogue(Lang::En);
        let missing_en: Vec<_> = fr.keys().filter(|k| !en.contains_key(*k)).collect();
        let missing_fr: Vec<_> = en.keys().filter(|k| !fr.contains_key(*k)).collect();
        assert!(missing_en.is_empty(), "keys missing in English: {missing_en:?}");
        assert!(missing_fr.is_empty(), "keys missing in French: {missing_fr:?}");
    }

    #[test]
    fn a_word_agrees_with_its_number_by_each_languages_rule() {
        let t = "{n} {n|client|clients}, {m} {m|point|points}, {x}";
        let args = |n: &str| vec![("n", n.to_string()), ("m", "2".to_string())];
        assert_eq!(choose_plurals(Lang::Fr, t, &args("1")), "{n} client, {m} points, {x}");
        assert_eq!(choose_plurals(Lang::Fr, t, &args("0")), "{n} client, {m} points, {x}", "French: 0 is singular");
        assert_eq!(choose_plurals(Lang::En, t, &args("0")), "{n} clients, {m} points, {x}", "English: 0 is plural");
        assert!(plural_one(Lang::Fr, "1,5") && !plural_one(Lang::Fr, "1\u{202f}234") && plural_one(Lang::Fr, "-1"));
        assert_eq!(
            choose_plurals(Lang::Fr, "a {n|x|y} b { c", &args("1")),
            "a x b { c",
            "an unclosed brace stays, once"
        );
        assert!(plural_one(Lang::En, "1") && !plural_one(Lang::En, "1,001") && !plural_one(Lang::En, "many"));
    }

    #[test]
    fn placeholders_are_filled() {
        let s = tr(Lang::Fr, "error.newer_database", &[("found", "9".into()), ("supported", "1".into())]);
        assert!(s.contains('9') && s.contains('1') && !s.contains('{'), "placeholders replaced: {s}");
    }

    /// Every catalogue key named as a string literal in the core's sources exists in both
    /// languages, so no user ever sees a raw key; so does `entity.<name>` for every entity an
    /// error may name (`Error::not_found("customer", …)` → `entity.customer`).
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
                let mut keys = Vec::new();
                for prefix in [
                    "\"field.",
                    "\"error.",
                    "\"conflict.",
                    "\"timeline.",
                    "\"campaign.",
                    "\"mail.",
                    "\"deliverability.",
                    "\"referral.",
                ] {
                    for (i, _) in src.match_indices(prefix) {
                        let rest = &src[i + 1..];
                        let key = &rest[..rest.find('"').unwrap()];
                        if key.ends_with('.') || key.contains('{') {
                            continue; // a prefix built at run time
                        }
                        keys.push(key.to_string());
                    }
                }
                for prefix in ["not_found(\"", "entity: \""] {
                    for (i, _) in src.match_indices(prefix) {
                        let rest = &src[i + prefix.len()..];
                        keys.push(format!("entity.{}", &rest[..rest.find('"').unwrap()]));
                    }
                }
                for key in keys {
                    for lang in [Lang::Fr, Lang::En] {
                        if !has_key(lang, &key) {
                            missing.push(format!("{key} ({}) in {}", lang.code(), path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "untranslated keys: {missing:#?}");
    }
}
