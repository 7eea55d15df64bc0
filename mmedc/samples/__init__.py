"""Sample data the project writes itself, for the demo, the tests and the documentation."""
