"""What every concern stands on: settings, the catalog, periods, the cache, access, AWS clients."""
