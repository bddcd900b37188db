"""Configuration: read and validate TOML into core specs; write monitor edits back with tomlkit."""

from shiptrack_tui.config.editing import (
    ConfigEditor,
    MonitorNotFound,
    add_monitor,
    fields_from_spec,
    remove_monitor,
    update_monitor,
)
from shiptrack_tui.config.errors import ConfigConflict, ConfigError, ConfigNotFound
from shiptrack_tui.config.loader import AppriseConfigCheck, NotifyUrlCheck, load_config, parse_config
from shiptrack_tui.config.paths import default_config_path, default_db_path, operator
from shiptrack_tui.config.redact import redact_url
from shiptrack_tui.config.settings import (
    NOTIFY_EVENTS,
    Channel,
    Config,
    Defaults,
    NotifySettings,
    StorageSettings,
)
from shiptrack_tui.core.maintenance import MaintenanceWindow

__all__ = [
    "NOTIFY_EVENTS",
    "AppriseConfigCheck",
    "Channel",
    "Config",
    "ConfigConflict",
    "ConfigEditor",
    "ConfigError",
    "ConfigNotFound",
    "Defaults",
    "MaintenanceWindow",
    "MonitorNotFound",
    "NotifySettings",
    "NotifyUrlCheck",
    "StorageSettings",
    "add_monitor",
    "default_config_path",
    "default_db_path",
    "fields_from_spec",
    "load_config",
    "operator",
    "parse_config",
    "redact_url",
    "remove_monitor",
    "update_monitor",
]
