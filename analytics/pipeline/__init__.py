"""The batch pipeline: daily rollups, the long-term history, the delivered packs."""
