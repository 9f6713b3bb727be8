"""Video meetings for video visits: one small interface, one module per provider."""
