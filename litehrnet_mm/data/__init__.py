"""Small datasets that the project generates (no downloads): see synthetic_pose."""
