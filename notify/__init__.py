"""The multichannel notification gateway: templates, routing, limits, providers, delivery."""
