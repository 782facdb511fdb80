"""Built-in plugins of the Med-MCI federation.

Each module here is registered through the entry-point group ``medmci`` in pyproject.toml, exactly as a third-party
plugin is; the core (``federation``) never imports them by name.
"""
