"""Audio input/output: devices, the duplex stream, sources and the ring buffer for the audio tap."""
