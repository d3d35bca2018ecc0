"""charts-syncer load-image.yaml: model, reader, validation, environment, templates."""
