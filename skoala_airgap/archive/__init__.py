"""In-place tar reading: index a tar once and serve members, nested ones included, as file regions."""
