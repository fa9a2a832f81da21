//! Email templates: versions, variables with fallbacks, spintax, strict rendering (being written).
