"""tdscaling.synth."""
