"""Data structures and their geometry (layer 1): 3D camera geometry (``camera3d``)."""
