"""Payment providers behind one small, provider-neutral interface (see ``base``)."""
