//! `#[derive(Predictors)]`: implements `rdspy::predict::Predictors` for a struct of modules.
//!
//! Every named field is walked in declaration order and its predictors are named
//! `<field>.<child>` as DSPy names them (`generate.predict`, `layers[0]`). Fields that hold
//! no predictors (a retriever, a `k: usize`) are marked `#[predictors(skip)]`; a field that is
//! neither skipped nor `Predictors` is a compile error pointing at that field, which is how
//! the user learns to mark it.

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn predictors_impl(ast: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &ast.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            Fields::Unit => return Ok(expand(ast, &[])),
            Fields::Unnamed(_) => {
                return Err(syn::Error::new_spanned(
                    &ast.ident,
                    "#[derive(Predictors)] needs named fields: DSPy names predictors after the fields that hold them",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &ast.ident,
                "#[derive(Predictors)] works on structs; for an enum, implement rdspy::predict::Predictors by hand",
            ))
        }
    };
    let mut walked = Vec::new();
    for field in fields {
        if is_skipped(field)? {
            continue;
        }
        walked.push(field.clone());
    }
    Ok(expand(ast, &walked))
}

/// Whether a field carries `#[predictors(skip)]`; any other argument is an error.
fn is_skipped(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("predictors")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown predictors attribute; the only one is #[predictors(skip)]"))
            }
        })?;
    }
    Ok(skip)
}

fn expand(ast: &DeriveInput, fields: &[syn::Field]) -> TokenStream2 {
    let name = &ast.ident;
    let (impl_generics, ty_generics, where_clause) = ast.generics.split_for_impl();
    let walk = |mutable: bool| {
        fields.iter().map(move |f| {
            let ident = f.ident.as_ref().expect("named field");
            let label = ident.to_string();
            let (call, borrow) = if mutable {
                (quote!(named_predictors_mut), quote!(&mut self.#ident))
            } else {
                (quote!(named_predictors), quote!(&self.#ident))
            };
            quote_spanned! {f.ty.span()=>
                for (n, p) in ::rdspy::predict::Predictors::#call(#borrow) {
                    out.push((::rdspy::predict::join_name(#label, &n), p));
                }
            }
        })
    };
    let read = walk(false);
    let write = walk(true);
    quote! {
        impl #impl_generics ::rdspy::predict::Predictors for #name #ty_generics #where_clause {
            fn named_predictors(&self) -> ::std::vec::Vec<(::std::string::String, &::rdspy::predict::Predict)> {
                #[allow(unused_mut)]
                let mut out = ::std::vec::Vec::new();
                #(#read)*
                out
            }
            fn named_predictors_mut(&mut self) -> ::std::vec::Vec<(::std::string::String, &mut ::rdspy::predict::Predict)> {
                #[allow(unused_mut)]
                let mut out = ::std::vec::Vec::new();
                #(#write)*
                out
            }
        }
    }
}
