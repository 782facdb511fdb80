"""The packaged defaults: this folder is installed as the package ``medmci_config`` (see pyproject.toml), read with
importlib.resources by ``federation.settings.default_config_dir``. Edit the files here; no code lives here."""
