//! Derive macros for rdspy. Use them through the `rdspy` crate (`rdspy::Signature`).

use proc_macro::TokenStream;

/// `#[derive(Signature)]` (placeholder until the signature work lands).
#[proc_macro_derive(Signature, attributes(input, output, signature))]
pub fn derive_signature(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// `#[derive(SignatureType)]` (placeholder until the signature work lands).
#[proc_macro_derive(SignatureType, attributes(signature))]
pub fn derive_signature_type(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
