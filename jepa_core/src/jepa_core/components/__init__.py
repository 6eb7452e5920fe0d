"""The components the core registers under the ``jepa:`` scope."""
