"""tdscaling.sandbox."""
