//! Mock OpenAI-compatible server (placeholder).
