"""The smoke-test model: proof that a release loads through ``datasets`` and is learnable."""
