//! The type model shared by string signatures, `#[derive(Signature)]` and the adapters.
//!
//! DSPy annotates fields with Python types, and those types leak into the prompt
//! (`list[str]`, `Union[str, NoneType]`, `Literal['a', 'b']`, pydantic JSON schemas). To send
//! byte-identical prompts we model exactly the Python types DSPy users write, and map Rust types
//! onto them (see [`SignatureType`]).

use serde_json::Value;

/// One value allowed by a `Literal[...]` annotation.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralValue {
    /// `'a'` — rendered with Python `repr` quoting.
    Str(String),
    /// `3`
    Int(i64),
    /// `True` / `False`
    Bool(bool),
    /// `None`
    None,
}

impl LiteralValue {
    /// The JSON value this literal stands for.
    pub fn to_json(&self) -> Value {
        match self {
            LiteralValue::Str(s) => Value::String(s.clone()),
            LiteralValue::Int(i) => Value::from(*i),
            LiteralValue::Bool(b) => Value::Bool(*b),
            LiteralValue::None => Value::Null,
        }
    }
}

/// A field of a nested object type (a pydantic model in DSPy, a serde struct in Rust).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectField {
    pub name: String,
    pub ty: TypeSpec,
    /// `false` when the field has a default (an `Option` in Rust), as pydantic marks it.
    pub required: bool,
    pub description: Option<String>,
}

/// A Python type annotation as DSPy sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeSpec {
    /// `str`
    Str,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `bool`
    Bool,
    /// `Any`
    Any,
    /// `None` (only inside unions)
    NoneType,
    /// `list[T]`
    List(Box<TypeSpec>),
    /// `dict[K, V]`
    Dict(Box<TypeSpec>, Box<TypeSpec>),
    /// `tuple[A, B]`
    Tuple(Vec<TypeSpec>),
    /// `Literal['a', 'b']`
    Literal(Vec<LiteralValue>),
    /// `Optional[T]`, `Union[A, B]` (`pep604 == false`) or `A | B` (`pep604 == true`).
    /// `Optional[T]` is stored as `Union([T, NoneType])`, as Python does.
    Union { variants: Vec<TypeSpec>, pep604: bool },
    /// A nested object type with a class name (pydantic model / serde struct).
    Object { name: String, fields: Vec<ObjectField>, description: Option<String> },
    /// A string enum with a class name (Python `Enum` / Rust unit-variant enum rendered as Enum).
    Enum { name: String, values: Vec<String> },
}

impl TypeSpec {
    /// `Optional[T]`.
    pub fn optional(inner: TypeSpec) -> TypeSpec {
        TypeSpec::Union { variants: vec![inner, TypeSpec::NoneType], pep604: false }
    }

    /// `list[T]`.
    pub fn list(inner: TypeSpec) -> TypeSpec {
        TypeSpec::List(Box::new(inner))
    }

    /// `dict[K, V]`.
    pub fn dict(key: TypeSpec, value: TypeSpec) -> TypeSpec {
        TypeSpec::Dict(Box::new(key), Box::new(value))
    }

    /// `Literal['a', 'b', ...]` over strings.
    pub fn literal<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> TypeSpec {
        TypeSpec::Literal(values.into_iter().map(|s| LiteralValue::Str(s.into())).collect())
    }

    /// True when `None` is an accepted value, which makes an output field optional when parsing.
    pub fn admits_none(&self) -> bool {
        match self {
            TypeSpec::NoneType | TypeSpec::Any => true,
            TypeSpec::Union { variants, .. } => variants.iter().any(|v| v.admits_none()),
            TypeSpec::Literal(vals) => vals.iter().any(|v| matches!(v, LiteralValue::None)),
            _ => false,
        }
    }
}

/// Rust types that map onto DSPy's type model. Implemented for the usual std types; derive it
/// for your own structs and enums with `#[derive(rdspy::SignatureType)]`.
///
/// ```
/// use rdspy::signature::{SignatureType, TypeSpec};
/// assert_eq!(Vec::<String>::type_spec(), TypeSpec::list(TypeSpec::Str));
/// assert_eq!(Option::<i64>::type_spec(), TypeSpec::optional(TypeSpec::Int));
/// ```
pub trait SignatureType {
    /// The DSPy type this Rust type stands for.
    fn type_spec() -> TypeSpec;
}

macro_rules! impl_sig_type {
    ($spec:expr => $($t:ty),*) => { $(impl SignatureType for $t { fn type_spec() -> TypeSpec { $spec } })* };
}
impl_sig_type!(TypeSpec::Str => String, &str, str, char);
impl_sig_type!(TypeSpec::Int => i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
impl_sig_type!(TypeSpec::Float => f32, f64);
impl_sig_type!(TypeSpec::Bool => bool);
impl_sig_type!(TypeSpec::Any => Value);

impl<T: SignatureType> SignatureType for Vec<T> {
    fn type_spec() -> TypeSpec {
        TypeSpec::list(T::type_spec())
    }
}
impl<T: SignatureType> SignatureType for Option<T> {
    fn type_spec() -> TypeSpec {
        TypeSpec::optional(T::type_spec())
    }
}
impl<T: SignatureType> SignatureType for Box<T> {
    fn type_spec() -> TypeSpec {
        T::type_spec()
    }
}
impl<K: SignatureType, V: SignatureType, S> SignatureType for std::collections::HashMap<K, V, S> {
    fn type_spec() -> TypeSpec {
        TypeSpec::dict(K::type_spec(), V::type_spec())
    }
}
impl<K: SignatureType, V: SignatureType> SignatureType for std::collections::BTreeMap<K, V> {
    fn type_spec() -> TypeSpec {
        TypeSpec::dict(K::type_spec(), V::type_spec())
    }
}
