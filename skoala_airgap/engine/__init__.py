"""The copy engine: moves images from any source to any destination, blob by blob."""
