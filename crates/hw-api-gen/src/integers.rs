//! Exact integers for ids and counts.
//!
//! Hand-written because typify maps `format: int64` to a bare `i64`, which rejects a numeric
//! string. The service's types drift (fields documented as strings arrive as numbers, and other
//! clients read ids through string converters), so a numeric string is accepted defensively; no
//! source shows the service sending an id as a string (`docs/service-notes.md`, "Hardware API:
//! ids and integers"). These types
//! accept a JSON number or a numeric string, reject floats (which would already have lost digits
//! above 2^53), and always serialise as a JSON number.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! lenient_integer {
    ($(#[$meta:meta])* $name:ident($inner:ty), $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        impl $name {
            /// The integer value.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        /// An integer on the wire (a numeric string is read too, but never written).
        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }

            fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
                <$inner as schemars::JsonSchema>::json_schema(generator)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;

                impl Visitor<'_> for V {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as an integer or a string of digits"))
                    }

                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        <$inner>::try_from(v)
                            .map($name)
                            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
                    }

                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        <$inner>::try_from(v)
                            .map($name)
                            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    }

                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        Err(E::invalid_value(de::Unexpected::Float(v), &self))
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse()
                            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                    }
                }

                deserializer.deserialize_any(V)
            }
        }
    };
}

lenient_integer! {
    /// The 64-bit id of a product, submission or other entity of the API.
    ///
    /// Ids are often above 2^53 (e.g. `1152921504621465124`); they are read from a JSON number or
    /// a numeric string without going through `f64`, and written as a JSON number.
    Id(u64), "an id"
}

lenient_integer! {
    /// An integer the service has sent both as a JSON number and as a numeric string.
    LenientInteger(i64), "an integer"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_above_2_pow_53_are_exact_from_numbers_and_strings() {
        let n: Id = serde_json::from_str("1152921504621465124").unwrap();
        let s: Id = serde_json::from_str("\"1152921504621465125\"").unwrap();
        assert_eq!(n.get(), 1_152_921_504_621_465_124);
        assert_eq!(s.get(), 1_152_921_504_621_465_125);
        assert_eq!(serde_json::to_string(&s).unwrap(), "1152921504621465125");
    }

    #[test]
    fn floats_negative_and_garbage_are_refused() {
        for bad in [
            "1.152921504621465e18",
            "-1",
            "\"12a\"",
            "\"\"",
            "true",
            "null",
        ] {
            let err = serde_json::from_str::<Id>(bad).unwrap_err().to_string();
            assert!(err.contains("an id as an integer"), "{bad}: {err}");
        }
        assert_eq!(
            serde_json::from_str::<LenientInteger>("\"-4\"")
                .unwrap()
                .get(),
            -4
        );
    }
}
