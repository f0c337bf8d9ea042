//! Which column holds what: columns are recognised from their headers in French and English,
//! and the customer exports of Shopify, Square, Mailchimp, Brevo and Google Sheets (and
//! Comptoir's own export) are recognised as presets. Pure functions; saved mappings live in
//! `import_mappings`.

use super::normalise::DateOrder;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a column of the file goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Ignore,
    FirstName,
    LastName,
    /// "Élodie Lefèvre" in one cell.
    FullName,
    Email,
    Phone,
    AddressLine1,
    AddressLine2,
    Postcode,
    City,
    Country,
    Birthday,
    Language,
    Notes,
    Tags,
    /// Agrees to marketing email: yes / no / unsubscribed / cleaned / blocklisted.
    Consent,
    /// The opposite flag: yes means the person unsubscribed (Square, Brevo's blocklist).
    Unsubscribed,
    /// Opening balance of points from the old card.
    Points,
    /// Opening balance of stamps from the old card.
    Stamps,
    CardNumber,
    /// What the customer spent before Comptoir (kept in the notes: figures come from sales).
    SpentBefore,
}

impl Field {
    pub const ALL: [Field; 21] = [
        Field::Ignore,
        Field::FirstName,
        Field::LastName,
        Field::FullName,
        Field::Email,
        Field::Phone,
        Field::AddressLine1,
        Field::AddressLine2,
        Field::Postcode,
        Field::City,
        Field::Country,
        Field::Birthday,
        Field::Language,
        Field::Notes,
        Field::Tags,
        Field::Consent,
        Field::Unsubscribed,
        Field::Points,
        Field::Stamps,
        Field::CardNumber,
        Field::SpentBefore,
    ];
    /// Fields that may appear in several columns (their values are joined).
    pub fn repeatable(self) -> bool {
        matches!(self, Field::Ignore | Field::Notes | Field::Tags | Field::AddressLine2)
    }
}

/// Where the file comes from, when its headers tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Generic,
    Comptoir,
    Shopify,
    Square,
    Mailchimp,
    Brevo,
    GoogleSheets,
}

/// Which column goes where, and the order of day and month in each date column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Mapping {
    pub columns: Vec<Field>,
    /// For each column mapped to a date, its order (`None` for other columns).
    pub date_orders: Vec<Option<DateOrder>>,
}

/// Header words (folded: lower case, no accents) and the field they name.
const SYNONYMS: &[(&str, Field)] = &[
    ("prenom", Field::FirstName),
    ("first name", Field::FirstName),
    ("firstname", Field::FirstName),
    ("first_name", Field::FirstName),
    ("given name", Field::FirstName),
    ("nom", Field::LastName),
    ("nom de famille", Field::LastName),
    ("last name", Field::LastName),
    ("lastname", Field::LastName),
    ("last_name", Field::LastName),
    ("surname", Field::LastName),
    ("family name", Field::LastName),
    ("nom complet", Field::FullName),
    ("nom et prenom", Field::FullName),
    ("nom prenom", Field::FullName),
    ("prenom nom", Field::FullName),
    ("client", Field::FullName),
    ("name", Field::FullName),
    ("full name", Field::FullName),
    ("customer name", Field::FullName),
    ("e-mail", Field::Email),
    ("email", Field::Email),
    ("mail", Field::Email),
    ("courriel", Field::Email),
    ("adresse e-mail", Field::Email),
    ("adresse email", Field::Email),
    ("adresse mail", Field::Email),
    ("email address", Field::Email),
    ("e-mail address", Field::Email),
    ("telephone", Field::Phone),
    ("tel", Field::Phone),
    ("tel.", Field::Phone),
    ("portable", Field::Phone),
    ("mobile", Field::Phone),
    ("gsm", Field::Phone),
    ("phone", Field::Phone),
    ("phone number", Field::Phone),
    ("numero de telephone", Field::Phone),
    ("sms", Field::Phone),
    ("default address phone", Field::Phone),
    ("adresse", Field::AddressLine1),
    ("address", Field::AddressLine1),
    ("address1", Field::AddressLine1),
    ("address 1", Field::AddressLine1),
    ("rue", Field::AddressLine1),
    ("street address 1", Field::AddressLine1),
    ("default address address1", Field::AddressLine1),
    ("adresse 1", Field::AddressLine1),
    ("complement d'adresse", Field::AddressLine2),
    ("complement", Field::AddressLine2),
    ("adresse 2", Field::AddressLine2),
    ("address2", Field::AddressLine2),
    ("address 2", Field::AddressLine2),
    ("street address 2", Field::AddressLine2),
    ("default address address2", Field::AddressLine2),
    ("code postal", Field::Postcode),
    ("cp", Field::Postcode),
    ("postcode", Field::Postcode),
    ("postal code", Field::Postcode),
    ("zip", Field::Postcode),
    ("zip code", Field::Postcode),
    ("default address zip", Field::Postcode),
    ("ville", Field::City),
    ("city", Field::City),
    ("commune", Field::City),
    ("localite", Field::City),
    ("default address city", Field::City),
    ("pays", Field::Country),
    ("country", Field::Country),
    ("country code", Field::Country),
    ("default address country code", Field::Country),
    ("cc", Field::Country),
    ("province", Field::Ignore),
    ("date de naissance", Field::Birthday),
    ("naissance", Field::Birthday),
    ("anniversaire", Field::Birthday),
    ("date d'anniversaire", Field::Birthday),
    ("birthday", Field::Birthday),
    ("birth date", Field::Birthday),
    ("date of birth", Field::Birthday),
    ("birthdate", Field::Birthday),
    ("date_of_birth", Field::Birthday),
    ("langue", Field::Language),
    ("language", Field::Language),
    ("notes", Field::Notes),
    ("note", Field::Notes),
    ("remarques", Field::Notes),
    ("commentaire", Field::Notes),
    ("commentaires", Field::Notes),
    ("memo", Field::Notes),
    ("tags", Field::Tags),
    ("etiquettes", Field::Tags),
    ("groupes", Field::Tags),
    ("groups", Field::Tags),
    ("accepte les offres", Field::Consent),
    ("accepte les e-mails", Field::Consent),
    ("accepte les emails", Field::Consent),
    ("newsletter", Field::Consent),
    ("consentement", Field::Consent),
    ("optin", Field::Consent),
    ("opt-in", Field::Consent),
    ("accepts marketing", Field::Consent),
    ("accepts email marketing", Field::Consent),
    ("email subscription status", Field::Consent),
    ("statut mailchimp", Field::Consent),
    ("email unsubscribed", Field::Unsubscribed),
    ("email_blacklisted", Field::Unsubscribed),
    ("blocklisted", Field::Unsubscribed),
    ("desinscrit", Field::Unsubscribed),
    ("points", Field::Points),
    ("solde points", Field::Points),
    ("solde de points", Field::Points),
    ("points balance", Field::Points),
    ("tampons", Field::Stamps),
    ("stamps", Field::Stamps),
    ("carte", Field::CardNumber),
    ("numero de carte", Field::CardNumber),
    ("carte de fidelite", Field::CardNumber),
    ("card number", Field::CardNumber),
    ("total depense", Field::SpentBefore),
    ("montant depense", Field::SpentBefore),
    ("total spent", Field::SpentBefore),
    ("total spend", Field::SpentBefore),
];

fn normalise_header(h: &str) -> String {
    let f = crate::text::fold(h.trim().trim_start_matches('\u{feff}'));
    f.trim_end_matches([':', '*']).trim().replace(['_'], " ").replace("  ", " ")
}

/// The field a header names, or `Ignore`.
pub fn recognise(header: &str) -> Field {
    let h = normalise_header(header);
    let hu = crate::text::fold(header.trim());
    SYNONYMS.iter().find(|(w, _)| *w == h || *w == hu).map(|(_, f)| *f).unwrap_or(Field::Ignore)
}

/// Rule: a preset is recognised by headers only its export has.
pub fn detect_preset(headers: &[String]) -> Preset {
    let has = |name: &str| headers.iter().any(|h| h.trim().eq_ignore_ascii_case(name));
    if has("Comptoir ID") {
        Preset::Comptoir
    } else if has("Accepts Email Marketing") || (has("Accepts Marketing") && has("Total Spent")) {
        Preset::Shopify
    } else if has("Square Customer ID") || has("Reference ID") && has("Email Address") {
        Preset::Square
    } else if has("MEMBER_RATING") || has("LEID") || has("EUID") {
        Preset::Mailchimp
    } else if has("EMAIL_BLACKLISTED") || (has("EMAIL") && (has("SMS") || has("PRENOM") || has("FIRSTNAME"))) {
        Preset::Brevo
    } else {
        Preset::Generic
    }
}

/// The mapping suggested for these headers: each header recognised on its own, then the
/// preset's own columns, and each field taken by its first column only (except those that
/// may repeat).
pub fn suggest(headers: &[String]) -> (Preset, Vec<Field>) {
    let preset = detect_preset(headers);
    let mut out: Vec<Field> = headers
        .iter()
        .map(|h| match (preset, h.trim()) {
            (Preset::Brevo, "NOM" | "LASTNAME") => Field::LastName,
            (Preset::Brevo, "PRENOM" | "FIRSTNAME") => Field::FirstName,
            (Preset::Square, "Memo") => Field::Notes,
            (Preset::Square, "Groups") => Field::Tags,
            (Preset::Mailchimp, "NOTES") => Field::Notes,
            (Preset::Mailchimp, "TAGS") => Field::Tags,
            (Preset::Comptoir, "Comptoir ID" | "Total dépensé" | "Total spent") => Field::Ignore,
            (Preset::Shopify, "Phone") => Field::Phone,
            _ => recognise(h),
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for f in out.iter_mut() {
        if !f.repeatable() && !seen.insert(*f) {
            *f = Field::Ignore;
        }
    }
    (preset, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn french_and_english_headers_are_recognised() {
        let cases = [
            ("Nom", Field::LastName),
            ("Prénom", Field::FirstName),
            ("E-mail", Field::Email),
            ("Téléphone", Field::Phone),
            ("Date de naissance", Field::Birthday),
            ("Adresse", Field::AddressLine1),
            ("Code postal", Field::Postcode),
            ("Ville", Field::City),
            ("Notes", Field::Notes),
            ("Accepte les offres", Field::Consent),
            ("  CODE POSTAL : ", Field::Postcode),
            ("First Name", Field::FirstName),
            ("Email Address", Field::Email),
            ("Zip", Field::Postcode),
            ("Mystère", Field::Ignore),
        ];
        for (header, want) in cases {
            assert_eq!(recognise(header), want, "{header:?}");
        }
    }

    #[test]
    fn presets_are_recognised_from_their_headers() {
        let shopify = h(&[
            "Customer ID",
            "First Name",
            "Last Name",
            "Email",
            "Accepts Email Marketing",
            "Default Address Zip",
            "Phone",
            "Total Spent",
            "Tags",
            "Note",
        ]);
        let (p, m) = suggest(&shopify);
        assert_eq!(p, Preset::Shopify);
        assert_eq!(m[4], Field::Consent);
        assert_eq!(m[5], Field::Postcode);
        assert_eq!(m[7], Field::SpentBefore);
        let square = h(&[
            "Reference ID",
            "First Name",
            "Surname",
            "Email Address",
            "Phone Number",
            "Birthday",
            "Memo",
            "Square Customer ID",
            "Email Subscription Status",
        ]);
        let (p, m) = suggest(&square);
        assert_eq!(p, Preset::Square);
        assert_eq!((m[2], m[6], m[8]), (Field::LastName, Field::Notes, Field::Consent));
        let mailchimp = h(&[
            "Email Address",
            "First Name",
            "Last Name",
            "Phone Number",
            "MEMBER_RATING",
            "OPTIN_TIME",
            "LEID",
            "TAGS",
        ]);
        assert_eq!(suggest(&mailchimp).0, Preset::Mailchimp);
        let brevo = h(&["EMAIL", "NOM", "PRENOM", "SMS", "EMAIL_BLACKLISTED"]);
        let (p, m) = suggest(&brevo);
        assert_eq!(p, Preset::Brevo);
        assert_eq!(m, vec![Field::Email, Field::LastName, Field::FirstName, Field::Phone, Field::Unsubscribed]);
    }

    #[test]
    fn a_field_is_taken_by_its_first_column_only() {
        let (_, m) = suggest(&h(&["E-mail", "Email", "Notes", "Remarques"]));
        assert_eq!(m, vec![Field::Email, Field::Ignore, Field::Notes, Field::Notes], "notes may repeat, email not");
    }
}
