"""Pure preprocessing of vortex-street snapshots and safe file IO."""
