"""One screen per module, each with its own stylesheet scoped under the screen's name."""
