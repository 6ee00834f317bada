// The Recording module: see docs/architecture.md.
