"""Data machinery: file formats (IDX), downloads with caching and hashes, label encodings,
image geometry and image files (image_dataset_from_directory).

Imports only the standard library and NumPy (Pillow lazily, when image files are read).
"""
