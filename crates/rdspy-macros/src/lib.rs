//! Derive macros for rdspy. Use them through the `rdspy` crate (`rdspy::Signature`,
//! `rdspy::SignatureType`); the generated code refers to `::rdspy`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Lit, LitStr, Meta};

mod module;

/// `#[derive(Signature)]`: see `rdspy::Signature`'s documentation.
#[proc_macro_derive(Signature, attributes(input, output))]
pub fn derive_signature(input: TokenStream) -> TokenStream {
    let ast = parse_macro_input!(input as DeriveInput);
    signature_impl(&ast).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// `#[derive(SignatureType)]`: see `rdspy::SignatureType`'s documentation.
#[proc_macro_derive(SignatureType)]
pub fn derive_signature_type(input: TokenStream) -> TokenStream {
    let ast = parse_macro_input!(input as DeriveInput);
    signature_type_impl(&ast).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// `#[derive(Predictors)]`: see `rdspy::predict::Predictors`'s documentation.
#[proc_macro_derive(Predictors, attributes(predictors))]
pub fn derive_predictors(input: TokenStream) -> TokenStream {
    let ast = parse_macro_input!(input as DeriveInput);
    module::predictors_impl(&ast).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// The doc comment of an item, lines joined with `\n` (rdspy applies `cleandoc`).
fn doc_string(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

struct FieldAttr {
    kind: &'static str,
    desc: Option<String>,
    prefix: Option<String>,
}

fn field_attr(field: &syn::Field) -> syn::Result<Option<FieldAttr>> {
    let mut found: Option<FieldAttr> = None;
    for attr in &field.attrs {
        let kind = if attr.path().is_ident("input") {
            "input"
        } else if attr.path().is_ident("output") {
            "output"
        } else {
            continue;
        };
        if found.is_some() {
            return Err(syn::Error::new_spanned(attr, "a field is either #[input] or #[output], once"));
        }
        let mut fa = FieldAttr { kind, desc: None, prefix: None };
        if let Meta::List(_) = &attr.meta {
            attr.parse_nested_meta(|meta| {
                let value: LitStr = meta.value()?.parse()?;
                if meta.path.is_ident("desc") {
                    fa.desc = Some(value.value());
                } else if meta.path.is_ident("prefix") {
                    fa.prefix = Some(value.value());
                } else {
                    return Err(meta.error("unknown key: expected `desc` or `prefix`"));
                }
                Ok(())
            })?;
        }
        found = Some(fa);
    }
    Ok(found)
}

fn signature_impl(ast: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &ast.ident;
    let Data::Struct(data) = &ast.data else {
        return Err(syn::Error::new_spanned(ast, "#[derive(Signature)] works on structs with named fields"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(ast, "#[derive(Signature)] needs named fields"));
    };
    let mut field_exprs = Vec::new();
    let mut idents = Vec::new();
    let mut out_fields = Vec::new();
    let mut in_fields = Vec::new();
    for f in &fields.named {
        let ident = f.ident.as_ref().expect("named field");
        let fname = ident.to_string();
        idents.push(ident.clone());
        let ty = &f.ty;
        let Some(attr) = field_attr(f)? else {
            return Err(syn::Error::new_spanned(f, format!("field `{fname}` needs #[input] or #[output]")));
        };
        let ctor = format_ident!("{}", attr.kind);
        let desc = attr.desc.or_else(|| doc_string(&f.attrs).map(|d| d.trim().to_string()));
        let with_desc = desc.map(|d| quote!(.with_desc(#d)));
        let with_prefix = attr.prefix.map(|p| quote!(.with_prefix(#p)));
        field_exprs.push(quote! {
            ::rdspy::signature::Field::#ctor(#fname, <#ty as ::rdspy::signature::SignatureType>::type_spec()) #with_desc #with_prefix
        });
        let vis = &f.vis;
        if attr.kind == "output" {
            out_fields.push(quote!(#vis #ident: #ty));
        } else {
            in_fields.push(quote!(#vis #ident: #ty));
        }
    }
    let instructions = match doc_string(&ast.attrs) {
        Some(d) => quote!(::std::option::Option::Some(#d)),
        None => quote!(::std::option::Option::None),
    };
    let name_str = name.to_string();
    let output_ident = format_ident!("{}Output", name);
    let input_ident = format_ident!("{}Input", name);
    let vis = &ast.vis;
    let out_doc =
        LitStr::new(&format!("The outputs of [`{name_str}`], read from a prediction with `Prediction::parse_as`."), Span::call_site());
    let in_doc = LitStr::new(&format!("The inputs of [`{name_str}`]; `to_example()` turns them into an `Example`."), Span::call_site());
    Ok(quote! {
        // The struct only declares the signature; reading its fields here keeps
        // `dead_code` quiet for users who never build a value of it.
        impl #name {
            #[allow(dead_code)]
            #[doc(hidden)]
            fn __rdspy_fields(&self) {
                #(let _ = &self.#idents;)*
            }
        }

        impl ::rdspy::TypedSignature for #name {
            type Output = #output_ident;
            fn signature() -> ::rdspy::Signature {
                ::rdspy::Signature::new(::std::vec![#(#field_exprs),*], #instructions)
                    .unwrap_or_else(|e| panic!("#[derive(Signature)] on {}: {}", #name_str, e))
                    .with_name(#name_str)
            }
        }

        #[doc = #out_doc]
        #[derive(::rdspy::__private::serde::Deserialize, ::rdspy::__private::serde::Serialize)]
        #[serde(crate = "::rdspy::__private::serde")]
        #vis struct #output_ident { #(#out_fields),* }

        #[doc = #in_doc]
        #[derive(::rdspy::__private::serde::Deserialize, ::rdspy::__private::serde::Serialize)]
        #[serde(crate = "::rdspy::__private::serde")]
        #vis struct #input_ident { #(#in_fields),* }

        impl #input_ident {
            /// These inputs as an `Example` (keys marked as inputs).
            pub fn to_example(&self) -> ::rdspy::Example {
                let value = ::rdspy::__private::serde_json::to_value(self).expect("inputs serialize to JSON");
                let keys: ::std::vec::Vec<::std::string::String> = value.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                ::rdspy::Example::from_json(value).expect("a struct serializes to an object").with_inputs(keys)
            }
        }
    })
}

/// serde's `rename_all` rules for variant names.
fn rename(name: &str, rule: &str) -> String {
    let words: Vec<String> = {
        let mut words = Vec::new();
        let mut cur = String::new();
        for c in name.chars() {
            if c.is_uppercase() && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur);
        }
        words
    };
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "snake_case" => lower.join("_"),
        "SCREAMING_SNAKE_CASE" => lower.join("_").to_uppercase(),
        "kebab-case" => lower.join("-"),
        "SCREAMING-KEBAB-CASE" => lower.join("-").to_uppercase(),
        "camelCase" => {
            let mut s = String::new();
            for (i, w) in lower.iter().enumerate() {
                if i == 0 {
                    s.push_str(w);
                } else {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        s.extend(f.to_uppercase());
                        s.push_str(c.as_str());
                    }
                }
            }
            s
        }
        _ => name.to_string(),
    }
}

/// `#[serde(rename = "..")]` / `#[serde(rename_all = "..")]` values.
fn serde_attr(attrs: &[Attribute], key: &str) -> Option<String> {
    let mut out = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) {
                let v: LitStr = meta.value()?.parse()?;
                out = Some(v.value());
            } else if let Ok(v) = meta.value() {
                let _: Expr = v.parse()?;
            }
            Ok(())
        });
    }
    out
}

fn signature_type_impl(ast: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &ast.ident;
    let name_str = name.to_string();
    let body = match &ast.data {
        Data::Enum(e) => {
            let rule = serde_attr(&ast.attrs, "rename_all");
            let mut values = Vec::new();
            for v in &e.variants {
                if !matches!(v.fields, Fields::Unit) {
                    return Err(syn::Error::new_spanned(
                        v,
                        "#[derive(SignatureType)] on an enum needs unit variants (they become a Literal)",
                    ));
                }
                let s = serde_attr(&v.attrs, "rename").unwrap_or_else(|| match &rule {
                    Some(r) => rename(&v.ident.to_string(), r),
                    None => v.ident.to_string(),
                });
                values.push(s);
            }
            quote!(::rdspy::signature::TypeSpec::literal([#(#values),*]))
        }
        Data::Struct(s) => {
            let Fields::Named(fields) = &s.fields else {
                return Err(syn::Error::new_spanned(ast, "#[derive(SignatureType)] needs named fields"));
            };
            let rule = serde_attr(&ast.attrs, "rename_all");
            let fs = fields.named.iter().map(|f| {
                let ident = f.ident.as_ref().expect("named").to_string();
                let fname = serde_attr(&f.attrs, "rename").unwrap_or_else(|| match &rule {
                    Some(r) => rename(&ident, r),
                    None => ident.clone(),
                });
                let ty = &f.ty;
                let desc = match doc_string(&f.attrs) {
                    Some(d) => {
                        let d = d.trim().to_string();
                        quote!(::std::option::Option::Some(#d.to_string()))
                    }
                    None => quote!(::std::option::Option::None),
                };
                quote! {{
                    let ty = <#ty as ::rdspy::signature::SignatureType>::type_spec();
                    let required = !matches!(&ty, ::rdspy::signature::TypeSpec::Union { variants, .. } if variants.contains(&::rdspy::signature::TypeSpec::NoneType));
                    ::rdspy::signature::ObjectField { name: #fname.to_string(), ty, required, description: #desc }
                }}
            });
            let desc = match doc_string(&ast.attrs) {
                Some(d) => quote!(::std::option::Option::Some(::rdspy::signature::cleandoc(#d))),
                None => quote!(::std::option::Option::None),
            };
            quote!(::rdspy::signature::TypeSpec::Object { name: #name_str.to_string(), fields: ::std::vec![#(#fs),*], description: #desc })
        }
        Data::Union(_) => return Err(syn::Error::new_spanned(ast, "#[derive(SignatureType)] does not support unions")),
    };
    Ok(quote! {
        impl ::rdspy::signature::SignatureType for #name {
            fn type_spec() -> ::rdspy::signature::TypeSpec { #body }
        }
    })
}
