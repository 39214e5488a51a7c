//! The simulator's SAS URLs: signed with a per-run key, checked on every blob request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// The fields of a SAS query string the blob service checks.
#[derive(Debug, Clone, Default)]
pub struct Sas {
    /// Service version.
    pub sv: String,
    /// Resource (`b` for a blob).
    pub sr: String,
    /// Permissions (`r`, `w`, `l`, …).
    pub sp: String,
    /// Expiry, RFC 3339.
    pub se: String,
    /// Signature.
    pub sig: String,
}

/// Why a SAS was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SasProblem {
    /// A field is missing.
    Missing(&'static str),
    /// The signature does not match.
    BadSignature,
    /// The expiry has passed (or does not parse).
    Expired,
    /// The permissions lack what the operation needs.
    Permission(char),
}

impl Sas {
    /// Reads the SAS fields of a query string.
    pub fn from_query(query: &str) -> Self {
        let mut sas = Sas::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "sv" => sas.sv = v,
                "sr" => sas.sr = v,
                "sp" => sas.sp = v,
                "se" => sas.se = v,
                "sig" => sas.sig = v,
                _ => {}
            }
        }
        sas
    }

    /// Checks the SAS for blob `name` and an operation needing `permission`.
    pub fn check(
        &self,
        key: &[u8],
        name: &str,
        permission: char,
        now: SystemTime,
    ) -> Result<(), SasProblem> {
        for (field, value) in [
            ("sv", &self.sv),
            ("sr", &self.sr),
            ("sp", &self.sp),
            ("se", &self.se),
            ("sig", &self.sig),
        ] {
            if value.is_empty() {
                return Err(SasProblem::Missing(field));
            }
        }
        if signature(key, name, &self.sv, &self.sr, &self.sp, &self.se) != self.sig {
            return Err(SasProblem::BadSignature);
        }
        let expiry = humantime::parse_rfc3339(&self.se).map_err(|_| SasProblem::Expired)?;
        if expiry <= now {
            return Err(SasProblem::Expired);
        }
        if !self.sp.contains(permission) {
            return Err(SasProblem::Permission(permission));
        }
        Ok(())
    }
}

/// The signature of a SAS for blob `name`.
pub fn signature(key: &[u8], name: &str, sv: &str, sr: &str, sp: &str, se: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(key);
    for part in [name, sv, sr, sp, se] {
        hash.update(b"\n");
        hash.update(part.as_bytes());
    }
    STANDARD.encode(hash.finalize())
}

/// A signed query string for blob `name` with `permissions`, valid for `lifetime`.
pub fn query(key: &[u8], name: &str, sv: &str, permissions: &str, lifetime: Duration) -> String {
    let now = SystemTime::now();
    let expiry = now
        .checked_add(lifetime)
        .unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600));
    let se = humantime::format_rfc3339_seconds(expiry).to_string();
    let sig = signature(key, name, sv, "b", permissions, &se);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", sv)
        .append_pair("sr", "b")
        .append_pair("sp", permissions)
        .append_pair("se", &se)
        .append_pair("sig", &sig)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_queries_check_and_tampering_fails() {
        let key = b"k";
        let q = query(
            key,
            "ingestion/a",
            "2019-12-12",
            "rw",
            Duration::from_secs(60),
        );
        let sas = Sas::from_query(&q);
        let now = SystemTime::now();
        assert_eq!(sas.check(key, "ingestion/a", 'w', now), Ok(()));
        assert_eq!(
            sas.check(key, "ingestion/b", 'w', now),
            Err(SasProblem::BadSignature)
        );
        assert_eq!(
            sas.check(key, "ingestion/a", 'd', now),
            Err(SasProblem::Permission('d'))
        );
        assert_eq!(
            sas.check(key, "ingestion/a", 'r', now + Duration::from_secs(120)),
            Err(SasProblem::Expired)
        );
        let mut widened = sas.clone();
        widened.sp = "rwd".into();
        assert_eq!(
            widened.check(key, "ingestion/a", 'd', now),
            Err(SasProblem::BadSignature)
        );
    }
}
