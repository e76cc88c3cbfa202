//! Reference implementation of the correlation semantics (see the module doc inside).
