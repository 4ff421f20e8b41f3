//! Embedded models (placeholder).
