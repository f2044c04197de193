"""tdscaling.client."""
