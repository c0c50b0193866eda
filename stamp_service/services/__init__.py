"""Use cases. Each public function owns one transaction: it commits on success;
the caller's session is rolled back on any error."""
