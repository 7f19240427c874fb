"""The running engine without Qt: sources → processing chain → output, plus the audio tap for consumers."""
