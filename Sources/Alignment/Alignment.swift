// The Alignment module: see docs/architecture.md.
