"""User, amplification and adapter profiles: schema-versioned, validated, written atomically."""
