"""Running Educa's servers outside Docker: the native stack (`make prod`) and the process
handling that the test suite and the benchmark share with it. No product app imports it."""
