"""Equipment types: config dataclasses, the registry keyed by YAML ``type:``, presets."""
