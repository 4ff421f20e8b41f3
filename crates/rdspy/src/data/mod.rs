//! Datasets: load JSONL, JSON and CSV files into [`Example`]s, shuffle and split them with a seed.
//!
//! Loading never panics: a malformed line, a missing required field or a CSV row with the wrong
//! number of columns is an [`Error::InvalidInput`] that names the file, the line and the field,
//! so the fix is obvious without opening a debugger.
//!
//! ```
//! use rdspy::data::{self, Load};
//! let dir = std::env::temp_dir().join(format!("rdspy-doc-data-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("qa.jsonl");
//! std::fs::write(&path, "{\"question\": \"2+2?\", \"answer\": \"4\"}\n{\"question\": \"3+3?\", \"answer\": \"6\"}\n").unwrap();
//! let examples = Load::new(["question"]).require(["answer"]).file(&path).unwrap();
//! assert_eq!(examples[0].inputs().get_str("question"), Some("2+2?"));
//! let (train, dev) = data::split(&examples, 1, 0);
//! assert_eq!((train.len(), dev.len()), (1, 1));
//! ```

mod load;
mod pyrandom;
mod split;

pub use load::{load, Load};
pub use pyrandom::PyRandom;
pub use split::{rng_for, sample, shuffle, split};
