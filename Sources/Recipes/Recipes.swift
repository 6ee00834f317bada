// The Recipes module: see docs/architecture.md.
