//! Parser for DSPy's string signature form: `"context: list[str], question -> answer: int"`.
//!
//! DSPy parses each side of `->` as Python function parameters with `ast`. We accept the same
//! language (field names, optional annotations built from `str int float bool Any None list dict
//! tuple Optional Union Literal` and `|` unions, with or without a `typing.` prefix) with a
//! hand-written recursive-descent parser, so every error can point at a column.

use super::{Field, FieldKind, LiteralValue, TypeSpec};

/// A signature that could not be built: names the position (1-based column) and the problem.
///
/// ```
/// let err = rdspy::Signature::parse("a: lst[str] -> b").unwrap_err();
/// assert_eq!(err.column, Some(4));
/// assert!(err.to_string().contains("unknown type `lst`"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid signature {spec:?}: {message}{}", column.map(|c| format!(" (at column {c})")).unwrap_or_default())]
pub struct SignatureError {
    /// The signature text, when there was one.
    pub spec: String,
    /// 1-based column of the problem, when it has a position.
    pub column: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl SignatureError {
    pub(crate) fn other(message: String) -> SignatureError {
        SignatureError { spec: String::new(), column: None, message }
    }
}

/// Names that would clash with the adapters' own end marker (`[[ ## completed ## ]]`), or that
/// Python DSPy cannot build a signature class with (`instructions` and `model_config` are class
/// attributes there), so a program using them could not be loaded by DSPy.
const RESERVED: &[&str] = &["completed", "instructions", "model_config"];

/// Why `name` cannot be a field name, if it cannot: reserved, or a leading underscore, which
/// pydantic (and so DSPy) rejects.
fn name_problem(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        let why = if name == "completed" { "it is the adapters' end marker" } else { "Python DSPy uses it on signature classes" };
        return Some(format!("field name `{name}` is reserved ({why}); choose another name"));
    }
    if name.starts_with('_') {
        let hint = name.trim_start_matches('_');
        let hint = if hint.is_empty() { "a name starting with a letter".to_string() } else { format!("`{hint}`") };
        return Some(format!("field name `{name}` starts with `_`, which DSPy does not allow; use {hint} instead"));
    }
    None
}

/// Parse a whole `inputs -> outputs` spec into fields (inputs first).
pub(crate) fn parse_spec(spec: &str) -> Result<Vec<Field>, SignatureError> {
    let err = |col: Option<usize>, msg: String| SignatureError { spec: spec.to_string(), column: col, message: msg };
    let arrows: Vec<usize> = spec.match_indices("->").map(|(i, _)| i).collect();
    match arrows.len() {
        0 => return Err(err(None, "missing `->`: write inputs, then `->`, then outputs, e.g. \"question -> answer\"".into())),
        1 => {}
        _ => {
            let col = spec[..arrows[1]].chars().count() + 1;
            return Err(err(Some(col), "more than one `->`: a signature has exactly one".into()));
        }
    }
    let arrow = arrows[0];
    let chars: Vec<char> = spec.chars().collect();
    let arrow_col = spec[..arrow].chars().count();
    let mut p = Parser { chars: &chars, pos: 0, end: arrow_col, spec };
    let inputs = p.field_list(FieldKind::Input)?;
    let mut p = Parser { chars: &chars, pos: arrow_col + 2, end: chars.len(), spec };
    let outputs = p.field_list(FieldKind::Output)?;
    if inputs.is_empty() {
        return Err(err(Some(arrow_col + 1), "no input fields before `->`: add at least one, e.g. \"question -> answer\"".into()));
    }
    if outputs.is_empty() {
        return Err(err(Some(arrow_col + 3), "no output fields after `->`: add at least one, e.g. \"question -> answer\"".into()));
    }
    let mut fields: Vec<(Field, usize)> = inputs;
    fields.extend(outputs);
    for (i, (f, col)) in fields.iter().enumerate() {
        if let Some((prev, _)) = fields[..i].iter().find(|(g, _)| g.name == f.name) {
            let what = if prev.kind == f.kind { "duplicate field name" } else { "a field cannot be both an input and an output:" };
            return Err(err(Some(*col), format!("{what} `{}`", f.name)));
        }
    }
    Ok(fields.into_iter().map(|(f, _)| f).collect())
}

/// Checks shared by every way of building a signature.
pub(crate) fn validate_fields(fields: &[Field]) -> Result<(), SignatureError> {
    for (i, f) in fields.iter().enumerate() {
        if !is_identifier(&f.name) {
            return Err(SignatureError::other(format!("field name `{}` is not a valid identifier", f.name)));
        }
        if let Some(problem) = name_problem(&f.name) {
            return Err(SignatureError::other(problem));
        }
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(SignatureError::other(format!("duplicate field name `{}`", f.name)));
        }
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch == '_' || ch.is_alphabetic()) && c.all(|ch| ch == '_' || ch.is_alphanumeric())
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    end: usize,
    spec: &'a str,
}

impl Parser<'_> {
    fn err(&self, col0: usize, msg: impl Into<String>) -> SignatureError {
        SignatureError { spec: self.spec.to_string(), column: Some(col0 + 1), message: msg.into() }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.end && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        (self.pos < self.end).then(|| self.chars[self.pos])
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<(String, usize)> {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            let ok = c == '_' || c.is_alphabetic() || (self.pos > start && c.is_alphanumeric());
            if !ok {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| (self.chars[start..self.pos].iter().collect(), start))
    }

    fn field_list(&mut self, kind: FieldKind) -> Result<Vec<(Field, usize)>, SignatureError> {
        let mut out = Vec::new();
        self.skip_ws();
        if self.peek().is_none() {
            return Ok(out);
        }
        loop {
            self.skip_ws();
            let Some((name, col)) = self.ident() else {
                let what = self.peek().map(|c| format!("`{c}`")).unwrap_or_else(|| "the end".into());
                return Err(self.err(self.pos, format!("expected a field name, found {what}")));
            };
            if let Some(problem) = name_problem(&name) {
                return Err(self.err(col, problem));
            }
            let (ty, undefined) = if self.eat(':') { (self.type_expr()?, false) } else { (TypeSpec::Str, true) };
            let mut f = Field::new(name, kind, ty);
            f.type_undefined = undefined;
            out.push((f, col + 1));
            self.skip_ws();
            match self.peek() {
                None => return Ok(out),
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek().is_none() {
                        return Ok(out); // a trailing comma is valid Python
                    }
                }
                Some(c) => return Err(self.err(self.pos, format!("unexpected `{c}`: separate fields with `,`"))),
            }
        }
    }

    /// `primary ('|' primary)*`
    fn type_expr(&mut self) -> Result<TypeSpec, SignatureError> {
        let first = self.primary()?;
        if !self.eat_pipe() {
            return Ok(first);
        }
        let mut variants = vec![first];
        loop {
            variants.push(self.primary()?);
            if !self.eat_pipe() {
                break;
            }
        }
        Ok(TypeSpec::Union { variants, pep604: true })
    }

    fn eat_pipe(&mut self) -> bool {
        self.eat('|')
    }

    fn primary(&mut self) -> Result<TypeSpec, SignatureError> {
        self.skip_ws();
        let Some((mut name, col)) = self.ident() else {
            let what = self.peek().map(|c| format!("`{c}`")).unwrap_or_else(|| "the end".into());
            return Err(self.err(self.pos, format!("expected a type, found {what}")));
        };
        // `typing.List[...]` and friends
        while self.peek() == Some('.') {
            self.pos += 1;
            let Some((attr, _)) = self.ident() else {
                return Err(self.err(self.pos, "expected a name after `.`"));
            };
            if name == "typing" || name == "typing_extensions" {
                name = attr;
            } else {
                return Err(self.err(col, format!("unknown type `{name}.{attr}`: string signatures support built-in types; use #[derive(Signature)] with a #[derive(SignatureType)] type for custom ones")));
            }
        }
        let has_args = self.eat('[');
        let arg_col = self.pos;
        let spec = match (name.as_str(), has_args) {
            ("str", false) => TypeSpec::Str,
            ("int", false) => TypeSpec::Int,
            ("float", false) => TypeSpec::Float,
            ("bool", false) => TypeSpec::Bool,
            ("Any", false) => TypeSpec::Any,
            ("None" | "NoneType", false) => TypeSpec::NoneType,
            ("list" | "List", false) => TypeSpec::list(TypeSpec::Any),
            ("dict" | "Dict", false) => TypeSpec::dict(TypeSpec::Any, TypeSpec::Any),
            ("list" | "List", true) => TypeSpec::list(self.one_arg(&name)?),
            ("dict" | "Dict", true) => {
                let args = self.type_args()?;
                if args.len() != 2 {
                    return Err(self.err(arg_col, format!("`{name}` takes 2 type arguments (key, value), got {}", args.len())));
                }
                let mut it = args.into_iter();
                TypeSpec::dict(it.next().unwrap(), it.next().unwrap())
            }
            ("tuple" | "Tuple", true) => TypeSpec::Tuple(self.type_args()?),
            ("Optional", true) => TypeSpec::optional(self.one_arg(&name)?),
            ("Union", true) => TypeSpec::Union { variants: self.type_args()?, pep604: false },
            ("Literal", true) => TypeSpec::Literal(self.literal_args()?),
            ("str" | "int" | "float" | "bool" | "Any" | "None", true) => {
                return Err(self.err(col, format!("`{name}` takes no type arguments")))
            }
            ("Optional" | "Union" | "Literal" | "tuple" | "Tuple", false) => {
                return Err(self.err(col, format!("`{name}` needs type arguments, e.g. `{name}[...]`")))
            }
            _ => {
                let hint = suggest(&name).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                return Err(self.err(col, format!("unknown type `{name}`{hint}; known: str, int, float, bool, Any, list[T], dict[K, V], tuple[...], Literal[...], Optional[T], Union[...], T | None")));
            }
        };
        if has_args && !self.eat(']') {
            let what = self.peek().map(|c| format!("`{c}`")).unwrap_or_else(|| "the end".into());
            return Err(self.err(self.pos, format!("expected `]` to close `{name}[`, found {what}")));
        }
        Ok(spec)
    }

    fn one_arg(&mut self, name: &str) -> Result<TypeSpec, SignatureError> {
        let col = self.pos;
        let mut args = self.type_args()?;
        if args.len() != 1 {
            return Err(self.err(col, format!("`{name}` takes exactly 1 type argument, got {}", args.len())));
        }
        Ok(args.remove(0))
    }

    fn type_args(&mut self) -> Result<Vec<TypeSpec>, SignatureError> {
        self.comma_list(Parser::type_expr)
    }

    fn literal_args(&mut self) -> Result<Vec<LiteralValue>, SignatureError> {
        self.comma_list(Parser::literal)
    }

    /// `item (',' item)* ','?` up to a closing `]` (left for the caller to eat).
    fn comma_list<T>(&mut self, item: fn(&mut Self) -> Result<T, SignatureError>) -> Result<Vec<T>, SignatureError> {
        let mut out = vec![item(self)?];
        while self.eat(',') {
            self.skip_ws();
            if self.peek() == Some(']') {
                break;
            }
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn literal(&mut self) -> Result<LiteralValue, SignatureError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err(start, "unterminated string in Literal[...]")),
                        Some(c) if c == q => {
                            self.pos += 1;
                            return Ok(LiteralValue::Str(s));
                        }
                        Some('\\') => {
                            self.pos += 1;
                            let Some(e) = self.peek() else {
                                return Err(self.err(start, "unterminated string in Literal[...]"));
                            };
                            self.pos += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '0' => '\0',
                                other => other,
                            });
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                self.pos += 1;
                while matches!(self.peek(), Some(d) if d.is_ascii_digit() || d == '_') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().filter(|c| **c != '_').collect();
                text.parse::<i64>().map(LiteralValue::Int).map_err(|_| self.err(start, format!("`{text}` is not a valid integer literal")))
            }
            _ => match self.ident() {
                Some((w, _)) if w == "True" => Ok(LiteralValue::Bool(true)),
                Some((w, _)) if w == "False" => Ok(LiteralValue::Bool(false)),
                Some((w, _)) if w == "None" => Ok(LiteralValue::None),
                _ => Err(self.err(start, "Literal[...] values must be quoted strings, integers, True, False or None")),
            },
        }
    }
}

fn suggest(name: &str) -> Option<&'static str> {
    let known = ["str", "int", "float", "bool", "list", "dict", "tuple", "Literal", "Optional", "Union", "Any"];
    let lower = name.to_lowercase();
    known.iter().copied().find(|k| {
        let k = k.to_lowercase();
        k == lower || (lower.len() >= 3 && (k.starts_with(&lower) || lower.starts_with(&k) || edit1(&k, &lower)))
    })
}

/// True when the strings differ by at most one inserted, deleted or substituted character.
fn edit1(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut diff) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        diff += 1;
        if diff > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    diff + (a.len() - i) + (b.len() - j) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signature;

    fn ty(spec: &str) -> TypeSpec {
        Signature::parse(&format!("a -> b: {spec}")).unwrap().fields()[1].ty.clone()
    }

    #[test]
    fn untyped_fields_are_str_and_marked() {
        let s = Signature::parse("question -> answer").unwrap();
        assert_eq!(s.fields()[0].ty, TypeSpec::Str);
        assert!(s.fields()[0].type_undefined);
        assert_eq!(s.fields()[1].desc, "${answer}");
        assert_eq!(s.fields()[1].prefix, "Answer:");
    }

    #[test]
    fn every_type_parses() {
        assert_eq!(ty("int"), TypeSpec::Int);
        assert_eq!(ty("float"), TypeSpec::Float);
        assert_eq!(ty("bool"), TypeSpec::Bool);
        assert_eq!(ty("Any"), TypeSpec::Any);
        assert_eq!(ty("list[str]"), TypeSpec::list(TypeSpec::Str));
        assert_eq!(ty("List[int]"), TypeSpec::list(TypeSpec::Int));
        assert_eq!(ty("typing.List[int]"), TypeSpec::list(TypeSpec::Int));
        assert_eq!(ty("dict[str, list[int]]"), TypeSpec::dict(TypeSpec::Str, TypeSpec::list(TypeSpec::Int)));
        assert_eq!(ty("Optional[str]"), TypeSpec::optional(TypeSpec::Str));
        assert_eq!(ty("int | None"), TypeSpec::Union { variants: vec![TypeSpec::Int, TypeSpec::NoneType], pep604: true });
        assert_eq!(ty("Union[int, str]"), TypeSpec::Union { variants: vec![TypeSpec::Int, TypeSpec::Str], pep604: false });
        assert_eq!(ty("tuple[int, str]"), TypeSpec::Tuple(vec![TypeSpec::Int, TypeSpec::Str]));
        assert_eq!(
            ty(r#"Literal['a', "b'c", 3, -1, True, None]"#),
            TypeSpec::Literal(vec![
                LiteralValue::Str("a".into()),
                LiteralValue::Str("b'c".into()),
                LiteralValue::Int(3),
                LiteralValue::Int(-1),
                LiteralValue::Bool(true),
                LiteralValue::None
            ])
        );
        assert_eq!(
            ty("list[dict[str, Optional[list[float]]]]"),
            TypeSpec::list(TypeSpec::dict(TypeSpec::Str, TypeSpec::optional(TypeSpec::list(TypeSpec::Float))))
        );
    }

    #[test]
    fn whitespace_and_trailing_commas() {
        let s = Signature::parse("  a :list[ str ] ,b,-> c  :  int ,").unwrap();
        assert_eq!(s.input_names(), ["a", "b"]);
        assert_eq!(s.output_names(), ["c"]);
        assert_eq!(s.fields()[0].ty, TypeSpec::list(TypeSpec::Str));
    }

    fn err(spec: &str) -> SignatureError {
        Signature::parse(spec).unwrap_err()
    }

    #[test]
    fn errors_name_position_and_problem() {
        let e = err("question ->");
        assert!(e.message.contains("no output fields"), "{e}");
        let e = err("a: lst[str] -> b");
        assert_eq!(e.column, Some(4));
        assert!(e.message.starts_with("unknown type `lst` (did you mean `list`?)"), "{e}");
        let e = err("a, a -> b");
        assert_eq!((e.column, e.message.as_str()), (Some(4), "duplicate field name `a`"));
        let e = err("a -> a");
        assert!(e.message.contains("both an input and an output"), "{e}");
        let e = err("a -> completed");
        assert!(e.message.contains("reserved"), "{e}");
        assert_eq!(e.column, Some(6));
        let e = err("a -> instructions");
        assert!(e.message.contains("reserved (Python DSPy uses it"), "{e}");
        let e = err("q, _x -> b");
        assert_eq!(
            (e.column, e.message.as_str()),
            (Some(4), "field name `_x` starts with `_`, which DSPy does not allow; use `x` instead")
        );
        assert!(err("a b").message.contains("missing `->`"));
        assert!(err("a -> b -> c").message.contains("more than one"));
        assert!(err("-> b").message.contains("no input fields"));
        let e = err("a: list[str -> b");
        assert!(e.message.contains("expected `]`"), "{e}");
        let e = err("a: Literal[x] -> b");
        assert!(e.message.contains("Literal[...] values"), "{e}");
        assert!(err("1a -> b").message.contains("expected a field name"));
        assert!(err("a: dict[str] -> b").message.contains("2 type arguments"));
        assert!(err("a: Optional -> b").message.contains("needs type arguments"));
        assert!(err("a: Literal['x -> b").message.contains("unterminated"));
        assert!(err("a; b -> c").message.contains("separate fields"));
    }

    #[test]
    fn error_display_is_readable() {
        let e = err("a: lst[str] -> b");
        assert_eq!(
            e.to_string(),
            "invalid signature \"a: lst[str] -> b\": unknown type `lst` (did you mean `list`?); known: str, int, float, bool, Any, list[T], dict[K, V], tuple[...], Literal[...], Optional[T], Union[...], T | None (at column 4)"
        );
    }
}
