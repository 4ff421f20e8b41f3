//! One module per subcommand.

pub mod common;
pub mod compile;
pub mod compile_knn;
pub mod compile_reflect;
pub mod compile_search;
pub mod eval;
pub mod inspect;
pub mod mock_server;
pub mod models;
pub mod program;
pub mod run;
pub mod serve_model;
