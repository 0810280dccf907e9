"""Configuration: one YAML file → ${VAR} substitution → validated, defaulted, frozen Settings."""

from acmeeh.config.load import ConfigError, load_settings, settings_from_dict
from acmeeh.config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_dict"]
