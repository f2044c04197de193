"""tdscaling.servers."""
