//! Read a DSPy prompt's output fields and write a reply that fills them.

use serde_json::{json, Map, Value};

/// An output field as the system message lists it: ``1. `answer` (list[str]): desc``.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputField {
    pub name: String,
    pub ty: String,
}

/// The output fields listed in a DSPy system message.
pub fn output_fields(system: &str) -> Vec<OutputField> {
    let Some(start) = system.find("Your output fields are:\n") else { return Vec::new() };
    let rest = &system[start + "Your output fields are:\n".len()..];
    let end = rest.find("All interactions will be structured").unwrap_or(rest.len());
    let mut out = Vec::new();
    for line in rest[..end].lines() {
        let Some((num, tail)) = line.split_once(". `") else { continue };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Some((name, tail)) = tail.split_once("` (") else { continue };
        out.push(OutputField { name: name.to_string(), ty: balanced_type(tail) });
    }
    out
}

/// Byte offsets of the characters of `s` that stand outside brackets and quotes.
fn top_level(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut depth, mut quote) = (0i32, None::<char>);
    s.char_indices().filter(move |&(_, c)| {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => return false,
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            _ => return depth == 0,
        }
        false
    })
}

/// The type text up to the `)` that closes `(`.
fn balanced_type(s: &str) -> String {
    match top_level(s).find(|&(_, c)| c == ')') {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Split `a, b[c, d], e` at top-level commas.
fn top_level_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in top_level(s).filter(|&(_, c)| c == ',') {
        out.push(s[start..i].trim());
        start = i + 1;
    }
    out.push(s[start..].trim());
    out
}

/// A JSON value of the Python type `ty`, varied by `seed`.
fn value_for(ty: &str, name: &str, seed: u64) -> Value {
    let ty = ty.trim();
    let inner = |prefix: &str| ty.strip_prefix(prefix).and_then(|r| r.strip_suffix(']'));
    match ty {
        "str" => {
            Value::String(if name == "reasoning" { "Let me think step by step.".into() } else { format!("{name} {:x}", seed % 0xffff) })
        }
        "int" => json!(seed % 100),
        "float" => json!(((seed % 100) as f64) / 100.0),
        "bool" => json!(seed % 2 == 0),
        _ => {
            if let Some(i) = inner("list[") {
                json!([value_for(i, name, seed)])
            } else if let Some(i) = inner("dict[") {
                let args = top_level_args(i);
                json!({"key": value_for(args.get(1).copied().unwrap_or("str"), name, seed)})
            } else if let Some(i) = inner("Literal[") {
                let args = top_level_args(i);
                let pick = args[(seed % args.len() as u64) as usize];
                let unq = pick.trim_matches(|c| c == '\'' || c == '"');
                match pick.parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) if pick == "True" || pick == "False" => json!(pick == "True"),
                    Err(_) => json!(unq),
                }
            } else if let Some(i) = inner("Union[") {
                let args = top_level_args(i);
                let first = args.iter().find(|a| **a != "NoneType").copied().unwrap_or("str");
                value_for(first, name, seed)
            } else if let Some(i) = inner("tuple[") {
                Value::Array(top_level_args(i).into_iter().map(|t| value_for(t, name, seed)).collect())
            } else if ty == "Any" {
                json!("value")
            } else {
                json!({})
            }
        }
    }
}

fn chat_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        other => other.to_string(),
    }
}

/// An OpenAI chat completion answering `request` (a `/v1/chat/completions` body).
pub fn answer(request: &Value) -> Result<Value, String> {
    let messages = request["messages"].as_array().ok_or("`messages` must be a list")?;
    let system = messages.iter().find(|m| m["role"] == "system").and_then(|m| m["content"].as_str()).unwrap_or("");
    let last = messages.last().and_then(|m| m["content"].as_str()).unwrap_or("");
    let fields = output_fields(system);
    let json_mode = system.contains("Outputs will be a JSON object with the following fields.")
        || request.get("response_format").is_some_and(|r| !r.is_null());
    let n = request["n"].as_u64().unwrap_or(1).max(1);
    let base = fnv(last);
    let mut choices = Vec::new();
    for i in 0..n {
        let seed = base.wrapping_add(i.wrapping_mul(0x9E37_79B9));
        let text = if fields.is_empty() {
            format!("mock reply {:x}", seed % 0xffff)
        } else if json_mode {
            let obj: Map<String, Value> = fields.iter().map(|f| (f.name.clone(), value_for(&f.ty, &f.name, seed))).collect();
            Value::Object(obj).to_string()
        } else {
            let mut s = String::new();
            for f in &fields {
                s.push_str(&format!("[[ ## {} ## ]]\n{}\n\n", f.name, chat_text(&value_for(&f.ty, &f.name, seed))));
            }
            s.push_str("[[ ## completed ## ]]");
            s
        };
        let mut message = json!({"role": "assistant", "content": text});
        let mut finish = "stop";
        if let Some(call) = tool_call(request, seed) {
            message["tool_calls"] = json!([call]);
            finish = "tool_calls";
        }
        choices.push(json!({"index": i, "message": message, "finish_reason": finish}));
    }
    let prompt_chars: usize = messages.iter().filter_map(|m| m["content"].as_str()).map(str::len).sum();
    let completion_chars: usize = choices.iter().filter_map(|c| c["message"]["content"].as_str()).map(str::len).sum();
    let (p, c) = ((prompt_chars / 4) as u64, (completion_chars / 4) as u64);
    Ok(json!({
        "id": format!("chatcmpl-mock-{:x}", base),
        "object": "chat.completion",
        "model": request["model"].as_str().unwrap_or("mock"),
        "choices": choices,
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }))
}

/// With OpenAI `tools` in the request: a call of one of them (picked by `seed`), with an
/// argument of the schema's type for each property.
fn tool_call(request: &Value, seed: u64) -> Option<Value> {
    let tools = request.get("tools")?.as_array().filter(|t| !t.is_empty())?;
    let f = &tools[(seed % tools.len() as u64) as usize]["function"];
    let empty = Map::new();
    let props = f["parameters"]["properties"].as_object().unwrap_or(&empty);
    let args: Map<String, Value> = props
        .iter()
        .map(|(name, schema)| {
            let ty = match schema["type"].as_str() {
                Some("integer") => "int",
                Some("number") => "float",
                Some("boolean") => "bool",
                Some("array") => "list[str]",
                _ => "str",
            };
            (name.clone(), value_for(ty, name, seed))
        })
        .collect();
    Some(json!({"id": format!("call_{:x}", seed % 0xffff), "type": "function",
                "function": {"name": f["name"], "arguments": Value::Object(args).to_string()}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_answers_both_formats() {
        let system = "Your input fields are:\n1. `q` (str):\nYour output fields are:\n1. `reasoning` (str): \n2. `label` (Literal['a):', 'b']): pick\n3. `n` (list[int]):\nAll interactions will be structured in the following way";
        let f = output_fields(system);
        assert_eq!(f.iter().map(|x| x.ty.as_str()).collect::<Vec<_>>(), ["str", "Literal['a):', 'b']", "list[int]"]);
        let req = json!({"model": "m", "messages": [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]});
        let r = answer(&req).unwrap();
        let text = r["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(text.starts_with("[[ ## reasoning ## ]]\nLet me think step by step.\n\n[[ ## label ## ]]\n"), "{text}");
        assert!(text.ends_with("[[ ## completed ## ]]"));
        let req =
            json!({"model": "m", "n": 2, "response_format": {"type": "json_object"}, "messages": [{"role": "system", "content": system}]});
        let r = answer(&req).unwrap();
        assert_eq!(r["choices"].as_array().unwrap().len(), 2);
        let v: Value = serde_json::from_str(r["choices"][1]["message"]["content"].as_str().unwrap()).unwrap();
        assert!(v["n"].is_array());
    }
}
