//! Choosing each next token: llama.cpp's sampler chain, with a shortcut for greedy decoding
//! under a grammar.
//!
//! A grammar sampler checks every token of the vocabulary against the grammar's state at each
//! step: 49k tokens for SmolLM2, 152k for Qwen2.5, and most of a constrained reply's per-token
//! time. Greedy decoding only needs to know whether the unconstrained best token is allowed; when
//! it is (the usual case, since the model mostly follows the format on its own), the grammar is
//! asked about that one token. Only when the grammar rejects it does the full-vocabulary pass
//! run. llama.cpp's own `common_sampler` does the same. The token picked is the one the chain
//! `grammar → greedy` picks: the first highest logit among the tokens the grammar allows.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;

/// Picks and accepts the next token from the logits of the last decode.
pub(crate) enum Picker {
    /// Greedy under a grammar: try the unconstrained best token first.
    GreedyGrammar { grammar: LlamaSampler, eog: LlamaToken },
    /// Anything else: llama.cpp's sampler chain as is.
    Chain(LlamaSampler),
}

impl Picker {
    /// The next token for output `idx` of the last batch (-1: the last one), accepted into the
    /// grammar. Under a grammar that allows no token at all, the end-of-generation token
    /// (not accepted: accepting a token the grammar rejects aborts llama.cpp).
    pub(crate) fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        match self {
            Picker::Chain(chain) => chain.sample(ctx, idx),
            Picker::GreedyGrammar { grammar, eog } => {
                let logits = ctx.get_logits_ith(idx);
                let best = first_max(logits.iter().copied().enumerate());
                let Some(best) = best else { return *eog };
                let candidate = LlamaToken::new(best as i32);
                let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(candidate, logits[best], 0.0)], false);
                grammar.apply(&mut one);
                let token = if one.data[0].logit().is_finite() {
                    candidate
                } else {
                    let mut all = ctx.token_data_array_ith(idx);
                    grammar.apply(&mut all);
                    match first_max(all.data.iter().map(|d| (d.id().0 as usize, d.logit()))) {
                        Some(t) => LlamaToken::new(t as i32),
                        None => return *eog,
                    }
                };
                grammar.accept(token);
                token
            }
        }
    }
}

/// The index of the first highest finite value, as llama.cpp's greedy sampler breaks ties.
fn first_max(values: impl Iterator<Item = (usize, f32)>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in values {
        if v.is_finite() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::first_max;

    #[test]
    fn first_max_breaks_ties_like_llama_cpp_and_skips_rejected_tokens() {
        let v = [1.0, 3.0, f32::NEG_INFINITY, 3.0, 2.0];
        assert_eq!(first_max(v.iter().copied().enumerate()), Some(1));
        assert_eq!(first_max([(4, f32::NEG_INFINITY)].into_iter()), None);
        assert_eq!(first_max([(7, f32::NEG_INFINITY), (9, -5.0)].into_iter()), Some(9));
    }
}
