//! Native function calling for the embedded model, in the Hermes format Qwen2.5 (and SmolLM2)
//! were trained on.
//!
//! llama.cpp's C chat-template API formats roles and contents only, so a request's OpenAI
//! `tools` are written into the system message the way Qwen2.5's own chat template writes them
//! (a `# Tools` section with one JSON schema per line inside `<tools></tools>`), and the reply's
//! `<tool_call>{"name": .., "arguments": {..}}</tool_call>` blocks are read back into
//! [`ToolCall`]s, leaving the rest of the text as the content. This is what llama.cpp's server
//! does for these models with `--jinja`.

use crate::grammar::{chat_segments, gbnf_escape, render, JSON_OBJECT_GBNF};
use rdspy::adapter::Message;
use rdspy::lm::{Choice, LmRequest, ToolCall};
use serde_json::Value;
use std::sync::Arc;

/// The OpenAI `tools` of a request, if it offers any.
fn tools_of(request: &LmRequest) -> Option<&Vec<Value>> {
    request.extra.get("tools").and_then(Value::as_array).filter(|t| !t.is_empty())
}

/// Qwen2.5's tools section, appended to the system message (a system message is added when
/// the request has none, with the template's default text).
pub(crate) fn offer_tools(request: &mut LmRequest) -> bool {
    let Some(tools) = tools_of(request) else { return false };
    let mut section = String::from(
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
         You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    );
    for t in tools {
        section.push('\n');
        section.push_str(&t.to_string());
    }
    section.push_str(
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within \
         <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
    );
    let mut messages: Vec<Message> = request.messages.as_ref().clone();
    match messages.first_mut().filter(|m| m.role == "system") {
        Some(system) => system.content.push_str(&section),
        None => messages
            .insert(0, Message::new("system", format!("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.{section}"))),
    }
    request.messages = Arc::new(messages);
    // The reply is free text plus tool calls: no ChatAdapter grammar, and no stop at
    // `[[ ## completed ## ]]` (a call may follow it).
    request.extra.insert("rdspy_chat_grammar".into(), Value::Bool(false));
    request.extra.insert("rdspy_stop_at_completed".into(), Value::Bool(false));
    true
}

/// With `tool_choice: "required"` (ReAct's native mode sends it: every turn calls a tool), a
/// grammar for the reply: DSPy's ChatAdapter structure when the prompt asks for one, then one
/// call `{"name": <an offered tool>, "arguments": {..}}` on the next line. Without it a small
/// model writes the fields, ends at `[[ ## completed ## ]]` as the format says, and calls
/// nothing. Built only from the request's tool names (escaped) and fixed rules, so it is always
/// a valid grammar.
pub(crate) fn required_call_grammar(request: &LmRequest) -> Option<String> {
    if request.extra.get("tool_choice").and_then(Value::as_str) != Some("required") {
        return None;
    }
    let names = offered_names(request);
    if names.is_empty() {
        return None;
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("\"\\\"{}\\\"\"", gbnf_escape(n))).collect();
    let call = format!("call ::= \"{{\\\"name\\\": \" ({}) \", \\\"arguments\\\": \" object \"}}\"\n", quoted.join(" | "));
    let json_rules: String = JSON_OBJECT_GBNF.lines().filter(|l| !l.starts_with("root ::=")).map(|l| format!("{l}\n")).collect();
    let chat = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| chat_segments(&m.content))
        .map(|segs| render(&segs).replacen("root ::=", "chat ::=", 1));
    Some(match chat {
        Some(chat) => format!("root ::= chat \"\\n\" call\n{chat}{call}{json_rules}"),
        None => format!("root ::= call\n{call}{json_rules}"),
    })
}

/// Move the tool calls of a reply into `tool_calls`: the `<tool_call>` blocks, else bare
/// `{"name": <an offered tool>, "arguments": {..}}` objects. The bare form is what the text
/// shows of a block when the model writes the tags as its special tokens, which detokenize to
/// nothing (Qwen2.5 does). A block whose JSON cannot be read stays in the text, so the caller
/// sees what the model wrote.
pub(crate) fn take_tool_calls(choice: &mut Choice, offered: &[String]) {
    take_tagged_calls(choice);
    if choice.tool_calls.is_empty() {
        take_bare_calls(choice, offered);
    }
}

/// The names of the functions a request offers.
pub(crate) fn offered_names(request: &LmRequest) -> Vec<String> {
    tools_of(request)
        .map(|tools| tools.iter().filter_map(|t| t["function"]["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn take_bare_calls(choice: &mut Choice, offered: &[String]) {
    let text = std::mem::take(&mut choice.text);
    let mut kept = String::new();
    let mut calls = Vec::new();
    let mut pos = 0;
    while let Some(off) = text[pos..].find('{') {
        let start = pos + off;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) if v["name"].as_str().is_some_and(|n| offered.iter().any(|o| o == n)) => {
                let end = start + stream.byte_offset();
                if let Some(call) = parse_call(&text[start..end], calls.len()) {
                    kept.push_str(&text[pos..start]);
                    calls.push(call);
                    pos = end;
                    continue;
                }
                kept.push_str(&text[pos..end]);
                pos = end;
            }
            _ => {
                kept.push_str(&text[pos..=start]);
                pos = start + 1;
            }
        }
    }
    kept.push_str(&text[pos..]);
    if calls.is_empty() {
        choice.text = text;
    } else {
        choice.text = kept.trim().to_string();
        choice.tool_calls = calls;
        choice.finish_reason = Some("tool_calls".into());
    }
}

fn take_tagged_calls(choice: &mut Choice) {
    const OPEN: &str = "<tool_call>";
    const CLOSE: &str = "</tool_call>";
    let mut rest = choice.text.as_str();
    let mut text = String::new();
    let mut calls = Vec::new();
    while let Some(start) = rest.find(OPEN) {
        let body_start = start + OPEN.len();
        let (body, after) = match rest[body_start..].find(CLOSE) {
            Some(end) => (&rest[body_start..body_start + end], &rest[body_start + end + CLOSE.len()..]),
            None => (&rest[body_start..], ""), // cut off by max_tokens, or the model ended there
        };
        match parse_call(body, calls.len()) {
            Some(call) => {
                text.push_str(&rest[..start]);
                calls.push(call);
            }
            None => text.push_str(&rest[..body_start + body.len()]),
        }
        rest = after;
    }
    text.push_str(rest);
    if !calls.is_empty() {
        choice.text = text.trim().to_string();
        choice.tool_calls = calls;
        choice.finish_reason = Some("tool_calls".into());
    }
}

fn parse_call(body: &str, index: usize) -> Option<ToolCall> {
    let v = rdspy::adapter::lenient::repair(body.trim())?;
    let name = v.get("name")?.as_str()?.to_string();
    let args = match v.get("arguments").or_else(|| v.get("parameters")) {
        Some(Value::String(s)) => rdspy::adapter::lenient::repair(s).unwrap_or_else(|| Value::String(s.clone())),
        Some(a) => a.clone(),
        None => Value::Object(Default::default()),
    };
    Some(ToolCall { id: Some(format!("call_{index}")), name, args })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tools_go_into_the_system_message_in_qwens_format() {
        let mut req = LmRequest::new(vec![Message::new("system", "Be brief."), Message::user("2+2?")]);
        assert!(!offer_tools(&mut req.clone()), "no tools, nothing to do");
        let tool = json!({"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}});
        req.extra.insert("tools".into(), json!([tool]));
        assert!(offer_tools(&mut req));
        let system = &req.messages[0].content;
        assert!(system.starts_with("Be brief.\n\n# Tools\n\nYou may call one or more functions"));
        assert!(system.contains(&format!("<tools>\n{tool}\n</tools>")));
        assert!(system.ends_with("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"));
        assert_eq!(req.extra["rdspy_chat_grammar"], false);
    }

    #[test]
    fn tool_call_blocks_become_calls_and_leave_the_text() {
        let mut c = Choice {
            text:
                "[[ ## next_thought ## ]]\nAdd them.\n\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 2}}\n</tool_call>"
                    .into(),
            finish_reason: Some("stop".into()),
            tool_calls: vec![],
        };
        take_tool_calls(&mut c, &["add".into()]);
        assert_eq!(c.text, "[[ ## next_thought ## ]]\nAdd them.");
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!((c.tool_calls[0].name.as_str(), &c.tool_calls[0].args), ("add", &json!({"a": 2, "b": 2})));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));

        // Unreadable JSON stays in the text; a reply without blocks is untouched.
        let mut bad = Choice { text: "<tool_call>not json</tool_call>".into(), finish_reason: None, tool_calls: vec![] };
        take_tool_calls(&mut bad, &["add".into()]);
        assert!(bad.tool_calls.is_empty() && bad.text.contains("not json"));
    }

    #[test]
    fn a_required_call_is_a_grammar_after_the_chat_fields() {
        let tool = |n: &str| json!({"type": "function", "function": {"name": n, "parameters": {"type": "object"}}});
        let mut req = LmRequest::new(vec![Message::user(
            "Q\n\nRespond with the corresponding output fields, starting with the field `[[ ## next_thought ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`.",
        )]);
        req.extra.insert("tools".into(), json!([tool("calc"), tool("finish")]));
        assert!(required_call_grammar(&req).is_none(), "only with tool_choice required");
        req.extra.insert("tool_choice".into(), json!("required"));
        let g = required_call_grammar(&req).unwrap();
        assert!(g.starts_with("root ::= chat \"\\n\" call\nchat ::= \"[[ ## next_thought ## ]]\\n\" text"), "{g}");
        assert!(g.contains(r#"call ::= "{\"name\": " ("\"calc\"" | "\"finish\"") ", \"arguments\": " object "}""#), "{g}");
        assert!(g.contains("\nobject ::= ") && g.matches("root ::=").count() == 1, "{g}");
    }

    #[test]
    fn bare_calls_of_offered_tools_are_calls_too() {
        // Qwen2.5 writes the tags as special tokens, which detokenize to nothing.
        let text = "[[ ## next_thought ## ]]\nAdd {them}.\n\n[[ ## completed ## ]]\n{\"name\": \"add\", \"arguments\": {\"a\": 2}}";
        let mut c = Choice { text: text.into(), finish_reason: None, tool_calls: vec![] };
        take_tool_calls(&mut c, &["add".into()]);
        assert_eq!(c.text, "[[ ## next_thought ## ]]\nAdd {them}.\n\n[[ ## completed ## ]]");
        assert_eq!((c.tool_calls[0].name.as_str(), &c.tool_calls[0].args), ("add", &json!({"a": 2})));

        // A JSON object naming a tool that was not offered is just text.
        let mut other = Choice { text: "{\"name\": \"rm\", \"arguments\": {}}".into(), finish_reason: None, tool_calls: vec![] };
        take_tool_calls(&mut other, &["add".into()]);
        assert!(other.tool_calls.is_empty() && other.text.starts_with("{\"name\": \"rm\""));
    }
}
