//! One module per subcommand.

pub mod common;
pub mod inspect;
pub mod mock_server;
pub mod models;
pub mod run;
pub mod serve_model;
