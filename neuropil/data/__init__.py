"""Data machinery: file formats (IDX), downloads with caching and hashes, label encodings.

Imports only the standard library and NumPy.
"""
