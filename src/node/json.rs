//! The pieces of a publish body, read in one pass without a `serde_json::Value` tree:
//! [`Field`] (a member whose type the verb checks, strings borrowed from the body), [`Compact`]
//! (a value kept as the compact JSON text a subscriber receives) and [`Strict`] (a value read
//! only to check it). Every piece is as strict as `Value` is (number ranges, escapes, nesting
//! depth), so a body this reading accepts is one the `Value` reading accepted; where it cannot
//! tell cheaply ([`Compact::is_rewritten`]), [`super::body`] checks the whole body once more.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A visitor's answer to every number and boolean: `$answer` (each visitor here only cares
/// about strings, arrays and objects).
macro_rules! numbers_and_booleans {
    ($answer:expr) => {
        fn visit_bool<X: de::Error>(self, _: bool) -> Result<Self::Value, X> {
            Ok($answer)
        }
        fn visit_i64<X: de::Error>(self, _: i64) -> Result<Self::Value, X> {
            Ok($answer)
        }
        fn visit_u64<X: de::Error>(self, _: u64) -> Result<Self::Value, X> {
            Ok($answer)
        }
        fn visit_f64<X: de::Error>(self, _: f64) -> Result<Self::Value, X> {
            Ok($answer)
        }
    };
}

/// A member of a body: absent, `null`, a string, an array of `E`, or anything else.
#[derive(Debug, Default)]
pub enum Field<'a, E = Strict> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    List(Vec<E>),
    Other,
}

impl<'a, E> Field<'a, E> {
    /// Absent and `null` mean the same everywhere: not given.
    pub fn given(&self) -> Option<&Field<'a, E>> {
        match self {
            Field::Absent | Field::Null => None,
            other => Some(other),
        }
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Field<'de, E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<E>(PhantomData<E>);

impl<'de, E: Deserialize<'de>> Visitor<'de> for FieldVisitor<E> {
    type Value = Field<'de, E>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<X: de::Error>(self) -> Result<Self::Value, X> {
        Ok(Field::Null)
    }
    numbers_and_booleans!(Field::Other);
    fn visit_borrowed_str<X: de::Error>(self, text: &'de str) -> Result<Self::Value, X> {
        Ok(Field::Text(Cow::Borrowed(text)))
    }
    fn visit_str<X: de::Error>(self, text: &str) -> Result<Self::Value, X> {
        Ok(Field::Text(Cow::Owned(text.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Field::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Strict::drain_map(map)?;
        Ok(Field::Other)
    }
}

/// A value read only to check it, as strictly as a `Value` would be (serde's `IgnoredAny`
/// skips numbers and escapes without checking them).
#[derive(Debug, Clone, Copy)]
pub struct Strict;

impl Strict {
    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<Strict, Strict>()?.is_some() {}
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<X: de::Error>(self) -> Result<Strict, X> {
        Ok(Strict)
    }
    numbers_and_booleans!(Strict);
    fn visit_str<X: de::Error>(self, _: &str) -> Result<Strict, X> {
        Ok(Strict)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Strict, A::Error> {
        Strict::drain_map(map)?;
        Ok(Strict)
    }
}

/// A JSON value as the compact text serde_json writes for it: the text as sent when it is
/// already that (the usual case: no copy, no tree), else the value read and written again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact<'a>(Cow<'a, str>);

impl<'a> Compact<'a> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text was rewritten. The raw reading of it skipped what only a `Value`
    /// reading checks in context (nesting depth), so the body is checked once more.
    pub fn is_rewritten(&self) -> bool {
        matches!(self.0, Cow::Owned(_))
    }

    /// `raw` (valid JSON) as compact text.
    ///
    /// # Errors
    /// What reading `raw` into a `Value` says (a number out of range, a lone surrogate, ...).
    pub fn new(raw: &'a str) -> Result<Compact<'a>, serde_json::Error> {
        if super::compact::is_compact(raw) {
            return Ok(Compact(Cow::Borrowed(raw)));
        }
        let value: serde_json::Value = serde_json::from_str(raw)?;
        Ok(Compact(Cow::Owned(value.to_string())))
    }
}

impl<'de> Deserialize<'de> for Compact<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        Compact::new(raw.get()).map_err(de::Error::custom)
    }
}

/// A body that is a JSON object read member by member.
pub trait FromMap<'de>: Sized {
    /// # Errors
    /// What the deserializer reports.
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// A JSON value that should be an object `T`: `NotObject` otherwise (read strictly all the
/// same, so a malformed non-object is still a JSON error).
#[derive(Debug)]
pub enum Item<T> {
    Object(T),
    NotObject,
}

impl<'de, T: FromMap<'de>> Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor(PhantomData))
    }
}

struct ItemVisitor<T>(PhantomData<T>);

impl<'de, T: FromMap<'de>> Visitor<'de> for ItemVisitor<T> {
    type Value = Item<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map).map(Item::Object)
    }
    fn visit_unit<X: de::Error>(self) -> Result<Self::Value, X> {
        Ok(Item::NotObject)
    }
    numbers_and_booleans!(Item::NotObject);
    fn visit_str<X: de::Error>(self, _: &str) -> Result<Self::Value, X> {
        Ok(Item::NotObject)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StrictVisitor.visit_seq(seq)?;
        Ok(Item::NotObject)
    }
}
